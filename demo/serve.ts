// Static server for dist/ (`deno task serve`): http://localhost:PORT/ opens the demo. WebGPU needs
// a secure context, and http://localhost is one. Port: --port N, else env PORT, else 8000; 0 picks
// a free one. Builds dist/ first when it is missing (or always with --build).

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export interface ServeOptions {
  /** 0 picks a free port (default 8000). */
  port?: number;
  /** Interface to bind (default 127.0.0.1: the demo is for this machine). */
  hostname?: string;
  /** Folder to serve (default the repository's dist/). */
  root?: string;
  /** Log each request. */
  verbose?: boolean;
}

export interface DemoServer {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** The port actually bound. */
  port: number;
  /** http://localhost:PORT */
  url: string;
  shutdown(): Promise<void>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  ts: "text/plain; charset=utf-8",
  map: "application/json; charset=utf-8",
  json: "application/json; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  wgsl: "text/plain; charset=utf-8",
  txt: "text/plain; charset=utf-8",
};

async function handle(root: string, req: Request): Promise<Response> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("method not allowed", { status: 405 });
  }
  const url = new URL(req.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return new Response("bad path", { status: 400 });
  }
  if (path.split("/").includes("..") || path.includes("\0")) {
    return new Response("forbidden", { status: 403 });
  }
  let file = `${root}${path}`;
  try {
    const st = await Deno.stat(file);
    if (st.isDirectory) {
      if (!path.endsWith("/")) return Response.redirect(new URL(path + "/" + url.search, url), 301);
      file += "index.html";
    }
    const body = await Deno.readFile(file);
    const ext = file.slice(file.lastIndexOf(".") + 1);
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": TYPES[ext] ?? "application/octet-stream",
        "cache-control": "no-store",
      },
    });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return new Response(`not found: ${path}`, { status: 404 });
    }
    return new Response(`error: ${(e as Error).message}`, { status: 500 });
  }
}

/** Serves `root` (dist/) and returns the server with the port it bound. */
export function serve(opts: ServeOptions = {}): DemoServer {
  const root = (opts.root ?? `${ROOT}/dist`).replace(/\/$/, "");
  const server = Deno.serve(
    { port: opts.port ?? 8000, hostname: opts.hostname ?? "127.0.0.1", onListen: () => {} },
    async (req) => {
      const res = await handle(root, req);
      if (opts.verbose) console.log(`${res.status} ${req.method} ${new URL(req.url).pathname}`);
      return res;
    },
  );
  const port = server.addr.port;
  return { server, port, url: `http://localhost:${port}`, shutdown: () => server.shutdown() };
}

function portFromArgs(args: string[]): number {
  const i = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
  const raw = i < 0
    ? Deno.env.get("PORT")
    : args[i].includes("=")
    ? args[i].split("=")[1]
    : args[i + 1];
  if (raw === undefined || raw === "") return 8000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`bad port '${raw}' (want 0..65535)`);
  }
  return n;
}

if (import.meta.main) {
  const args = Deno.args;
  const exists = await Deno.stat(`${ROOT}/dist/demo/index.html`).then(() => true, () => false);
  if (!exists || args.includes("--build")) {
    const { build } = await import("../build.ts");
    await build();
  }
  const s = serve({ port: portFromArgs(args), verbose: args.includes("--verbose") });
  console.log(
    `serving ${ROOT}/dist on ${s.url}/ (demo: ${s.url}/demo/, self-test: ${s.url}/demo/selftest.html)`,
  );
}
