import type * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  loadModel,
  readCheckpointRecord,
  saveModel,
  type CheckpointHandler,
  type CheckpointMetadata,
  type JsonValue,
  type LoadedModel,
  type ModelFactories,
} from '@helmholtz/core';
import { energyModels } from '../models.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { createRbmTrainer, type RbmTrainer, type RbmTrainerOptions } from './trainer.js';

const TRAINER_KEY = 'trainer';
/** The metadata entry that holds the trainer's options (all plain JSON but `rng`, which is saved as the generator's state). */
export const RBM_TRAINER_OPTIONS_KEY = 'rbmTrainerOptions';

/**
 * Saves an RBM with everything its training needs to continue as if never stopped: parameters,
 * the trainer's optimizer state (momentum), persistent chains, sparsity estimates, the
 * generator's position and the trainer's options (under `metadata.rbmTrainerOptions`). Pass
 * `{ epoch, step }` (the loop's `history.steps`) as metadata.
 */
export function saveRbmTraining(
  handler: tf.io.IOHandler | CheckpointHandler,
  trainer: RbmTrainer,
  metadata: CheckpointMetadata = {},
): Promise<tf.io.SaveResult> {
  // The options, not only the state: fitRbm derives some of them (the momentum switch, from the
  // batches per epoch), and a trainer rebuilt with other ones would not continue the same run.
  const { rng: _rng, ...options } = trainer.options;
  return saveModel(handler, trainer.rbm, {
    optimizers: { [TRAINER_KEY]: trainer },
    rng: trainer.rng,
    // A JSON round trip drops the keys whose value is undefined, which a checkpoint refuses.
    metadata: { ...metadata, [RBM_TRAINER_OPTIONS_KEY]: JSON.parse(JSON.stringify(options)) as JsonValue },
  });
}

export interface LoadedRbmTraining extends LoadedModel<RestrictedBoltzmannMachine> {
  /** A trainer built with the saved options (and `trainerOptions` over them), its state and generator restored. */
  trainer: RbmTrainer;
}

function locationOf(handler: tf.io.IOHandler | CheckpointHandler): string {
  return 'location' in handler && typeof handler.location === 'string' ? handler.location : 'IOHandler';
}

/**
 * Loads what {@link saveRbmTraining} saved. The trainer is rebuilt with the saved options;
 * `trainerOptions` replaces some of them (e.g. a new learning rate for the rest of the run). A
 * checkpoint whose state does not fit the resulting trainer (method, chains, sparsity) is refused
 * with a `CheckpointError`, and nothing is changed.
 */
export async function loadRbmTraining(
  handler: tf.io.IOHandler | CheckpointHandler,
  trainerOptions: RbmTrainerOptions = {},
  factories: ModelFactories = energyModels,
): Promise<LoadedRbmTraining> {
  const location = locationOf(handler);
  if (typeof handler.load !== 'function') throw new CheckpointError(location, 'expected a tfjs IOHandler with a load() method');
  // Read once: the saved options are needed before the trainer is built, and loadModel builds it.
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load();
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(location, `loading failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const saved = readCheckpointRecord(artifacts, location).metadata?.[RBM_TRAINER_OPTIONS_KEY];
  const options: RbmTrainerOptions = {
    ...(saved !== null && typeof saved === 'object' && !Array.isArray(saved) ? (saved as RbmTrainerOptions) : {}),
    ...trainerOptions,
  };
  const loaded = await loadModel<RestrictedBoltzmannMachine>({ load: async () => artifacts }, factories, {
    location,
    optimizers: (model) => ({ [TRAINER_KEY]: createRbmTrainer(model, options) }),
  });
  const trainer = loaded.optimizers[TRAINER_KEY] as RbmTrainer;
  if (loaded.rng) trainer.useRng(loaded.rng);
  return { ...loaded, trainer };
}
