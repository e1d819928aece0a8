/**
 * The drivers this package brings, one file per driver in this folder, listed here so that they
 * bundle with the CLI (no folder is read at run time). A new driver is one new file plus one line
 * below; test/drivers/backends-index.test.ts fails when a file of this folder is missing here.
 */
import type { DriverInfo } from '../api.ts';
import fsim from './fsim.ts';
import remote from './remote.ts';
import timing from './timing.ts';
import tsim from './tsim.ts';

export const BACKENDS: readonly DriverInfo[] = [fsim, remote, timing, tsim];
