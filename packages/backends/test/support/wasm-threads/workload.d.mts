/** One result of the workload: its name and its values read back from the backend. */
export interface WorkloadResult {
  name: string;
  values: Float32Array;
}

/** Runs the workload on the active backend (see workload.mjs); leaves no tensor behind. */
export function runWorkload(): Promise<WorkloadResult[]>;
