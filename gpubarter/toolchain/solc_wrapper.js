#!/usr/bin/env node
// A `solc` command line around the npm (WebAssembly) compiler, for tools that
// expect a native solc binary: py-solc-x's compile_standard, forge and brownie.
//
//   solc --version                       answers in native solc's format
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths ...]
//                                        reads Standard JSON on stdin, prints only the JSON
//
// Imports are read from the base path, then each include path, then this
// project's node_modules/ (so `@openzeppelin/...` resolves without remappings).
"use strict";
const fs = require("fs");
const path = require("path");

const projectModules = process.env.GPUBARTER_NODE_MODULES
  || path.resolve(__dirname, "..", "..", "node_modules");
const solc = require(path.join(projectModules, "solc"));

function nativeVersion() {
  // "0.8.30+commit.73712a01.Emscripten.clang" -> "0.8.30+commit.73712a01.Linux.g++"
  return solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
}

function main(argv) {
  if (argv.includes("--version") || argv.includes("-v")) {
    process.stdout.write("solc, the solidity compiler commandline interface\n");
    process.stdout.write(`Version: ${nativeVersion()}\n`);
    return 0;
  }
  if (!argv.includes("--standard-json")) {
    process.stderr.write("this solc wrapper supports only --version and --standard-json\n");
    return 1;
  }
  const roots = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === "--base-path" || argv[i] === "--include-path") && argv[i + 1]) {
      roots.push(path.resolve(argv[++i]));
    }
  }
  roots.push(process.cwd(), projectModules);
  const findImports = (p) => {
    for (const root of roots) {
      const full = path.isAbsolute(p) ? p : path.join(root, p);
      if (fs.existsSync(full) && fs.statSync(full).isFile()) {
        return { contents: fs.readFileSync(full, "utf8") };
      }
    }
    return { error: `File not found: ${p} (searched ${roots.join(", ")})` };
  };
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
