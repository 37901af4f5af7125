import type * as tf from '@tensorflow/tfjs-core';
import { loadModel, saveModel, type CheckpointHandler, type CheckpointMetadata, type LoadedModel, type ModelFactories } from '@helmholtz/core';
import { energyModels } from '../models.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { createRbmTrainer, type RbmTrainer, type RbmTrainerOptions } from './trainer.js';

const TRAINER_KEY = 'trainer';

/**
 * Saves an RBM with everything its training needs to continue as if never stopped: parameters,
 * the trainer's optimizer state (momentum), persistent chains, sparsity estimates and the
 * generator's position. Pass `{ epoch, step }` (the loop's `history.steps`) as metadata.
 */
export function saveRbmTraining(
  handler: tf.io.IOHandler | CheckpointHandler,
  trainer: RbmTrainer,
  metadata: CheckpointMetadata = {},
): Promise<tf.io.SaveResult> {
  return saveModel(handler, trainer.rbm, { optimizers: { [TRAINER_KEY]: trainer }, rng: trainer.rng, metadata });
}

export interface LoadedRbmTraining extends LoadedModel<RestrictedBoltzmannMachine> {
  /** A trainer built with `trainerOptions`, its state and generator restored. */
  trainer: RbmTrainer;
}

/**
 * Loads what {@link saveRbmTraining} saved. `trainerOptions` must describe the same trainer
 * (method, chains, sparsity): a checkpoint whose state does not fit them is refused with a
 * `CheckpointError`, and nothing is changed.
 */
export async function loadRbmTraining(
  handler: tf.io.IOHandler | CheckpointHandler,
  trainerOptions: RbmTrainerOptions = {},
  factories: ModelFactories = energyModels,
): Promise<LoadedRbmTraining> {
  const loaded = await loadModel<RestrictedBoltzmannMachine>(handler, factories, {
    optimizers: (model) => ({ [TRAINER_KEY]: createRbmTrainer(model, trainerOptions) }),
  });
  const trainer = loaded.optimizers[TRAINER_KEY] as RbmTrainer;
  if (loaded.rng) trainer.useRng(loaded.rng);
  return { ...loaded, trainer };
}
