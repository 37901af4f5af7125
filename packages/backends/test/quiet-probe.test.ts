import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Dawn and the Vulkan loader write to file descriptor 2 from native code, which no JavaScript
// hook sees: only a separate process, with its stderr captured, shows whether they printed.
const packageDir = fileURLToPath(new URL('..', import.meta.url));
// Debian's chromium ships it; scripts/setup installs chromium, as the parity test needs it too.
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

// What used to reach the terminal when auto looked at node-webgpu on a machine without a GPU.
const NOISE = [/XDG_RUNTIME_DIR/, /^Warning:/m, /Vulkan/i, /vkCreateInstance/, /loader_get_json/, /BackendType::/];

interface Run {
  stderr: string;
  description: { name: string; software: boolean; skipped: { backend: string; reason: string }[] };
}

/** initBackend(choice) in plain Node on the built package, with no Wayland session directory. */
function run(choice: string, vkIcd: string | undefined): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env, HELMHOLTZ_BACKEND: '' };
  delete env.XDG_RUNTIME_DIR;
  if (vkIcd === undefined) delete env.VK_ICD_FILENAMES;
  else env.VK_ICD_FILENAMES = vkIcd;
  const script = `
    const { initBackend } = await import('@helmholtz/backends');
    const d = await initBackend(${JSON.stringify(choice)});
    process.stdout.write(JSON.stringify(d) + '\\n', () => process.exit(0));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: packageDir, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve({ stderr, description: JSON.parse(stdout.trim().split('\n').at(-1)!) as Run['description'] });
      },
    );
  });
}

function expectQuiet(stderr: string): void {
  for (const line of NOISE) expect(stderr, `stderr matched ${line}`).not.toMatch(line);
}

function webgpuSkip(r: Run): string {
  return r.description.skipped.find((s) => s.backend === 'node-webgpu')?.reason ?? '';
}

describe("auto's node-webgpu probe prints nothing and keeps Dawn's reason", () => {
  it('no Vulkan driver at all (VK_ICD_FILENAMES pointing nowhere): silent, the loader\'s words in the skip reason', async () => {
    const r = await run('auto', '/nonexistent/vk_icd.json');
    expectQuiet(r.stderr);
    expect(r.description.name).toBe('wasm');
    expect(webgpuSkip(r)).toMatch(/^no WebGPU adapter was found \(Dawn: .*Found no drivers/);
  });

  it('the system drivers (VK_ICD_FILENAMES unset): silent, and the reason says what Dawn found', async () => {
    const r = await run('auto', undefined);
    expectQuiet(r.stderr);
    expect(r.description.name).toBe('wasm');
    // Whatever the machine has: no adapter (with Dawn's words when it printed any), or a
    // software one. A runner with a real GPU and Vulkan driver would pick node-webgpu instead.
    expect(webgpuSkip(r)).toMatch(/^no WebGPU adapter was found|\(software\)/);
  });

  it('SwiftShader: silent, skipped as a software adapter', async () => {
    const r = await run('auto', SWIFTSHADER);
    expectQuiet(r.stderr);
    expect(webgpuSkip(r)).toMatch(/^its WebGPU adapter is google swiftshader .*\(software\)/);
  });

  it('an explicit node-webgpu on SwiftShader runs in this process without the Wayland line', async () => {
    const r = await run('node-webgpu', SWIFTSHADER);
    expectQuiet(r.stderr);
    expect(r.description).toMatchObject({ name: 'node-webgpu', software: true });
  });
});
