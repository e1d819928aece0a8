/**
 * The verbs of `vta`, one yargs command module per file in this folder, listed here so that the
 * CLI bundles into one file (no folder is read at run time). A new verb is one new file plus one
 * line below; test/cli/commands-index.test.ts fails when a file of this folder is missing here.
 */
import asm from './asm.ts';
import bench from './bench.ts';
import buildRtl from './build-rtl.ts';
import compile from './compile.ts';
import config from './config.ts';
import conformance from './conformance.ts';
import disasm from './disasm.ts';
import drivers from './drivers.ts';
import errors from './errors.ts';
import importModel from './import.ts';
import quantize from './quantize.ts';
import replay from './replay.ts';
import run from './run.ts';
import serve from './serve.ts';
import sweep from './sweep.ts';
import tune from './tune.ts';
import viz from './viz.ts';

/** Each module types its own arguments (cli/main.ts hands them to yargs as plain command modules). */
export const COMMANDS = [
  asm, bench, buildRtl, compile, config, conformance, disasm, drivers, errors, importModel, quantize, replay, run, serve, sweep, tune, viz,
];
