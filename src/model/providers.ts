/**
 * Which execution providers to try, in order, and why the others are skipped. A provider that
 * cannot work here is skipped before onnxruntime touches it: a failed CUDA or WebGPU session costs
 * start-up time, and Dawn (WebGPU) prints its Vulkan errors straight to stderr, which the caller
 * cannot silence. WebGPU is therefore probed once per process in a child process whose stderr is
 * read, not shown.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';

export interface ProviderPlan {
  /** Providers to try in this order; cpu is always last. */
  readonly candidates: readonly ExecutionProvider[];
  /** Providers left out, each with the reason (for the one log line that says what was chosen). */
  readonly skipped: readonly string[];
}

const FALLBACK_ORDER: readonly ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

const ortPackage = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
const ortBinaryDir = path.join(path.dirname(ortPackage), 'bin', 'napi-v6', process.platform, process.arch);

const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

/** The CUDA provider library exists only after an install with ONNXRUNTIME_NODE_INSTALL=cuda12. */
function cudaInstalled(): boolean {
  return existsSync(path.join(ortBinaryDir, 'libonnxruntime_providers_cuda.so'));
}

/** Dawn loads the Vulkan loader by name, so LD_LIBRARY_PATH counts as well as the system directories. */
function vulkanLoaderFound(env: NodeJS.ProcessEnv): boolean {
  const dirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean), ...LIBRARY_DIRS];
  return dirs.some((dir) => existsSync(path.join(dir, 'libvulkan.so.1')));
}

/**
 * SwiftShader is Vulkan emulated on the CPU: it proves the WebGPU code path (the tests use it) but
 * is far slower than the CPU provider, so only an explicit DDPM_EXECUTION_PROVIDER=webgpu gets it.
 */
function swiftShaderDriver(env: NodeJS.ProcessEnv): boolean {
  return /swiftshader/i.test(`${env['VK_ICD_FILENAMES'] ?? ''}:${env['VK_DRIVER_FILES'] ?? ''}`);
}

/**
 * The providers to try: a named provider first, then the rest of cuda -> webgpu -> cpu that can work here. WebGPU is tried unasked only when a child
 * process found an adapter for `modelFile`.
 */
export async function planProviders(preferred: ExecutionProvider | undefined, modelFile: string, env: NodeJS.ProcessEnv = process.env): Promise<ProviderPlan> {
  if (preferred === 'cpu') return { candidates: ['cpu'], skipped: [] };
  const start = preferred ? FALLBACK_ORDER.indexOf(preferred) : 0;
  const candidates: ExecutionProvider[] = [];
  const skipped: string[] = [];
  for (const provider of FALLBACK_ORDER.slice(start)) {
    // A named provider is tried even where the probe would say no (the operator may know better), except
    // CUDA without its library: that cannot load, and onnxruntime prints its failure where no one asked.
    const reason = provider === preferred && provider !== 'cuda' ? null : await unusable(provider, modelFile, env);
    if (reason === null) candidates.push(provider);
    else skipped.push(`${provider}: ${reason}`);
  }
  return { candidates, skipped };
}

async function unusable(provider: ExecutionProvider, modelFile: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  if (provider === 'cpu') return null;
  if (provider === 'cuda') return cudaInstalled() ? null : 'not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 at npm ci)';
  if (!vulkanLoaderFound(env)) return 'no Vulkan loader (libvulkan.so.1)';
  if (swiftShaderDriver(env)) return 'the Vulkan driver is SwiftShader (CPU emulation, slower than the cpu provider); set DDPM_EXECUTION_PROVIDER=webgpu to use it anyway';
  webGpuProbe ??= probeWebGpu(modelFile, env);
  return webGpuProbe;
}

let webGpuProbe: Promise<string | null> | undefined;

/** Opens a WebGPU session in a child process; resolves null when it works, else Dawn's reason in one line. */
function probeWebGpu(modelFile: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const script = `const ort = require(${JSON.stringify(ortPackage.replace(/package\.json$/, ''))});
ort.InferenceSession.create(${JSON.stringify(modelFile)}, { executionProviders: ['webgpu'], logSeverityLevel: 4 })
  .then(() => process.exit(0), (e) => { process.stdout.write(String(e && e.message || e)); process.exit(1); });`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(null);
      resolve(`no usable adapter (${firstReason(`${stderr}\n${stdout}`) ?? error.message.split('\n')[0]})`);
    });
  });
}

/** Dawn's first "Warning: …" line says why (no drivers, no loader); onnxruntime's message says only that none was found. */
function firstReason(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const dawn = lines.find((l) => l.startsWith('Warning: '));
  return (dawn ?? lines.find((l) => /adapter/i.test(l)))?.replace(/^Warning: /, '').replace(/^.*\] /, '');
}
