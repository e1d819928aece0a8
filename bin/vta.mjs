#!/usr/bin/env node
// The `vta` command. Sources are TypeScript, loaded through tsx so that no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
