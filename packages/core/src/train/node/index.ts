// Node-only parts of the training loop (terminal output).
export { terminalProgress, type ProgressStream, type TerminalProgressOptions } from './terminal-progress.js';
