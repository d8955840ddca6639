// Bundles the widget into one minified IIFE and writes a manifest with its
// content hash (the server redirects the stable URL to the hashed one).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

mkdirSync("dist", { recursive: true });
await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  outfile: "dist/markezy.js",
  legalComments: "none",
});
const code = readFileSync("dist/markezy.js");
const manifest = {
  file: "markezy.js",
  hash: createHash("sha256").update(code).digest("hex").slice(0, 12),
  bytes: code.length,
  gzip_bytes: gzipSync(code, { level: 9 }).length,
};
writeFileSync("dist/manifest.json", JSON.stringify(manifest, null, 2));
console.log(`widget: ${manifest.bytes} bytes, ${manifest.gzip_bytes} gzipped, hash ${manifest.hash}`);
