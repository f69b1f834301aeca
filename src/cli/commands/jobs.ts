import type { Command } from 'commander';

export function registerJobCommands(_program: Command): void {}
