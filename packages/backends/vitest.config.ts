import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The WebGPU parity test runs Dawn on SwiftShader, Vulkan on the CPU. Debian's chromium ships
// both the ICD and a Vulkan loader; the loader must be on LD_LIBRARY_PATH when the test process
// starts (dlopen reads it once), so it is set here, for the forked test workers, when the system
// has no libvulkan.so.1 of its own.
const CHROMIUM = '/usr/lib/chromium';
const ICD = `${CHROMIUM}/vk_swiftshader_icd.json`;
const SYSTEM_LOADERS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];
const env: Record<string, string> = {};
if (!process.env.VK_ICD_FILENAMES && existsSync(ICD)) env.VK_ICD_FILENAMES = ICD;
if (!SYSTEM_LOADERS.some((f) => existsSync(f)) && existsSync(`${CHROMIUM}/libvulkan.so.1`)) {
  env.LD_LIBRARY_PATH = [process.env.LD_LIBRARY_PATH, CHROMIUM].filter(Boolean).join(':');
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env,
  },
});
