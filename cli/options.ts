/** Option helpers shared by the command modules. */
import { loadConfig, type VtaConfig } from '../config/config.ts';

/** The config named by --config, or the default one. */
export function configFromArgs(argv: { config?: string }): VtaConfig {
  return loadConfig(argv.config);
}

/** Right-align numbers in a two-column table. */
export function formatTable(rows: [string, string | number][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join('\n');
}
