/**
 * WebGPU adapter facts shared by the browser and the Node (Dawn) path. The structural types
 * below are the few members used, so neither @webgpu/types nor a DOM lib with WebGPU is needed.
 */

export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

export interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<GpuAdapterInfoLike>;
}

export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

/** What describeBackend reports about a WebGPU adapter. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** A CPU implementation of WebGPU (SwiftShader, llvmpipe, lavapipe, WARP) rather than a GPU. */
  software: boolean;
}

// Software rasterisers behind WebGPU adapters: correct, but slower than the wasm backend.
const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** Reads an adapter's info (`adapter.info`, or the older `requestAdapterInfo()`), copying its getters. */
export async function describeAdapter(adapter: GpuAdapterLike): Promise<AdapterDescription> {
  let info: GpuAdapterInfoLike | undefined = adapter.info;
  if (!info && typeof adapter.requestAdapterInfo === 'function') {
    info = await adapter.requestAdapterInfo().catch(() => undefined);
  }
  // Dawn's and browsers' GPUAdapterInfo expose getters on the prototype: read each one explicitly.
  const vendor = String(info?.vendor ?? '');
  const architecture = String(info?.architecture ?? '');
  const device = String(info?.device ?? '');
  const description = String(info?.description ?? '');
  const isFallbackAdapter = Boolean(info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false);
  const software = isFallbackAdapter || SOFTWARE_NAMES.test([vendor, architecture, device, description].join(' '));
  return { vendor, architecture, device, description, isFallbackAdapter, software };
}

/** "google swiftshader (software)" */
export function adapterLabel(a: AdapterDescription): string {
  const name = [a.vendor, a.architecture, a.device, a.description].filter((s) => s.length > 0).join(' ') || 'unnamed';
  return `${name}${a.software ? ' (software)' : ''}`;
}
