// Reading and checking knob values: an environment string parsed by the knob's type, and any
// value validated against it, with a ConfigError naming the variable or key at fault.
import { ConfigError } from "./errors.ts";
import type { ConfigValue, KnobSpec } from "./config_schema.ts";

/** Parse an environment string for a knob; throws ConfigError naming the variable and key. */
export function parseEnvValue(spec: KnobSpec, raw: string, varName = spec.env): ConfigValue {
  const fail = (expected: string): never => {
    throw new ConfigError(
      `environment ${varName}=${JSON.stringify(raw)} is not valid for config key ` +
        `'${spec.key}': expected ${expected}`,
    );
  };
  const s = raw.trim();
  switch (spec.type) {
    case "bool": {
      const v = s.toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      return fail("one of 1, 0, true, false, yes, no, on, off");
    }
    case "int": {
      if (!/^-?\d+$/.test(s)) fail(describeType(spec));
      return checkValue(spec, Number(s), `environment ${varName}`);
    }
    case "enum":
      if (!spec.values!.includes(s)) fail(`one of ${spec.values!.join(", ")}`);
      return s;
    case "string":
      return s;
    case "string[]":
      return s === "" ? [] : s.split(",").map((x) => x.trim()).filter((x) => x !== "");
    case "int[]": {
      const parts = s === "" ? [] : s.split(",").map((x) => x.trim());
      if (parts.some((p) => !/^-?\d+$/.test(p))) fail(describeType(spec));
      return checkValue(spec, parts.map(Number), `environment ${varName}`);
    }
  }
}

function describeType(spec: KnobSpec): string {
  const min = spec.min !== undefined ? ` >= ${spec.min}` : "";
  switch (spec.type) {
    case "bool":
      return "a boolean";
    case "int":
      return `an integer${min}`;
    case "enum":
      return `one of ${spec.values!.map((v) => JSON.stringify(v)).join(", ")}`;
    case "string":
      return "a string";
    case "string[]":
      return "an array of strings";
    case "int[]":
      return `an array of integers${min}`;
  }
}

/** Validate a value for a knob; returns a defensive copy. */
export function checkValue(spec: KnobSpec, v: unknown, origin: string): ConfigValue {
  const bad = (): never => {
    throw new ConfigError(
      `${origin}: config key '${spec.key}' expects ${describeType(spec)}, got ${JSON.stringify(v)}`,
    );
  };
  const intOk = (x: unknown) =>
    typeof x === "number" && Number.isInteger(x) && (spec.min === undefined || x >= spec.min);
  switch (spec.type) {
    case "bool":
      if (typeof v !== "boolean") bad();
      return v as boolean;
    case "int":
      if (!intOk(v)) bad();
      return v as number;
    case "enum":
      if (typeof v !== "string" || !spec.values!.includes(v)) bad();
      return v as string;
    case "string":
      if (typeof v !== "string") bad();
      return v as string;
    case "string[]":
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) bad();
      return [...(v as string[])];
    case "int[]":
      if (!Array.isArray(v) || !v.every(intOk)) bad();
      return [...(v as number[])];
  }
}
