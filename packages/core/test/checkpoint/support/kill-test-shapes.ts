/** About 6 MB of float32 in three variables: six 1 MiB shards plus a remainder. */
export const KILL_TEST_SHAPES: [string, [number, number]][] = [
  ['encoder', [512, 1024]],
  ['decoder', [1024, 512]],
  ['chains', [300, 1024]],
];
