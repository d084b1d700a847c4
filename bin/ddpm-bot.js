#!/usr/bin/env node
// The CLI and the service run from TypeScript sources through tsx's loader: no build step, no dist/.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
