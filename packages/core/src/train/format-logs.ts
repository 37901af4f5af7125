import type { Logs } from './callbacks.js';

/** `loss=0.3127 val_loss=0.3342`: metrics to `digits` significant digits, in insertion order, without `epoch`. */
export function formatLogs(logs: Logs, digits = 4): string {
  return Object.entries(logs)
    .filter(([name]) => name !== 'epoch')
    .map(([name, value]) => `${name}=${Number.isFinite(value) ? Number(value.toPrecision(digits)) : value}`)
    .join(' ');
}
