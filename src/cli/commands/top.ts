import type { Command } from 'commander';

export function registerTop(_program: Command): void {}
