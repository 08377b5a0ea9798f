#!/usr/bin/env node
// Compile chain/contracts/**/*.sol with npm solc (standard JSON) into chain/artifacts/<Name>.json.
//
// Usage: node chain/contracts/compile.js [--out DIR] [--check]
//   --out DIR  write artifacts to DIR instead of chain/artifacts
//   --check    write nothing; exit 1 when the committed artifacts differ from a fresh compile
//
// Output is deterministic (sorted keys, two-space indent, trailing newline, source names relative to
// the repo) so a fresh compile can be compared byte for byte with the committed artifacts.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const CONTRACTS_DIR = __dirname;
const DEFAULT_OUT_DIR = path.join(REPO_ROOT, "chain", "artifacts");
const NODE_MODULES = path.join(REPO_ROOT, "node_modules");

const SETTINGS = {
  evmVersion: "cancun", // OpenZeppelin 5 uses mcopy, which needs Cancun.
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function parseArgs(argv) {
  const args = { out: DEFAULT_OUT_DIR, check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") args.out = path.resolve(argv[++i]);
    else if (argv[i] === "--check") args.check = true;
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  return args;
}

function listSources(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listSources(full));
    else if (entry.name.endsWith(".sol")) found.push(full);
  }
  return found;
}

// Source unit names are repo-relative POSIX paths so metadata (and bytecode) do not depend on the checkout.
function sourceName(file) {
  return path.relative(REPO_ROOT, file).split(path.sep).join("/");
}

function findImports(importPath) {
  const candidates = [path.join(NODE_MODULES, importPath), path.join(REPO_ROOT, importPath)];
  for (const candidate of candidates) {
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: `import not found: ${importPath} (run npm install)` };
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]));
  }
  return value;
}

function sha256(text) {
  return "0x" + crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

function compile() {
  const sources = {};
  for (const file of listSources(CONTRACTS_DIR)) {
    sources[sourceName(file)] = { content: fs.readFileSync(file, "utf8") };
  }
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  const errors = (output.errors || []).filter((e) => e.severity === "error");
  // Warnings inside OpenZeppelin are not ours to fix; show only those in our sources.
  const shown = (output.errors || []).filter(
    (e) => e.severity === "error" || !(e.sourceLocation && e.sourceLocation.file.startsWith("@")),
  );
  for (const message of shown) process.stderr.write(message.formattedMessage + "\n");
  if (errors.length) throw new Error(`solc reported ${errors.length} error(s)`);

  const artifacts = {};
  for (const name of Object.keys(sources)) {
    for (const [contractName, contract] of Object.entries(output.contracts[name] || {})) {
      if (artifacts[contractName]) throw new Error(`duplicate contract name: ${contractName}`);
      artifacts[contractName] = {
        contractName,
        sourceName: name,
        sourceHash: sha256(sources[name].content),
        abi: contract.abi,
        bytecode: "0x" + contract.evm.bytecode.object,
        deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
        compiler: {
          name: "solc",
          version: solc.version(),
          evmVersion: SETTINGS.evmVersion,
          optimizer: SETTINGS.optimizer,
        },
      };
    }
  }
  return artifacts;
}

function render(artifact) {
  return JSON.stringify(sortKeys(artifact), null, 2) + "\n";
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const artifacts = compile();
  const stale = [];
  if (!args.check) fs.mkdirSync(args.out, { recursive: true });
  const wanted = new Set(Object.keys(artifacts).map((name) => `${name}.json`));
  for (const [name, artifact] of Object.entries(artifacts)) {
    const file = path.join(args.out, `${name}.json`);
    const text = render(artifact);
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    if (current === text) continue;
    if (args.check) stale.push(`${name}.json`);
    else fs.writeFileSync(file, text);
  }
  // Artifacts of contracts that no longer exist are stale too.
  const existing = fs.existsSync(args.out) ? fs.readdirSync(args.out).filter((f) => f.endsWith(".json")) : [];
  for (const file of existing) {
    if (wanted.has(file)) continue;
    if (args.check) stale.push(file);
    else fs.unlinkSync(path.join(args.out, file));
  }
  if (args.check && stale.length) {
    process.stderr.write(`stale artifacts (run: node chain/contracts/compile.js): ${stale.sort().join(", ")}\n`);
    process.exit(1);
  }
  process.stdout.write(`${args.check ? "checked" : "wrote"} ${Object.keys(artifacts).length} artifacts in ${path.relative(REPO_ROOT, args.out) || "."}\n`);
}

main();
