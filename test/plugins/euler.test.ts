/**
 * Euler / Euler ancestral against reference values from test/fixtures/euler/reference.py: an independent
 * torch float32 / numpy implementation of diffusers' EulerDiscreteScheduler and
 * EulerAncestralDiscreteScheduler equations (Karras et al. 2022), run with Debian's python3-torch 1.13.0 /
 * numpy 1.24.2 and the CPU torch.Generator. The values below are its output, pasted in; regenerate them with
 *   /usr/bin/python3 test/fixtures/euler/reference.py
 * Schedules: timesteps, sigmas and init_noise_sigma per config. Chains: diffusers' generic loop
 * (x = randn * init_noise_sigma; model(x / sqrt(sigma^2 + 1), t); step) with a fixed fake network.
 */
import { describe, expect, it } from 'vitest';
import euler, { EulerSampler, karrasSigmas } from '../../plugins/euler/index.ts';
import { TorchGenerator, type NoiseSource } from '../../src/core/rng.ts';
import type { StepOutput } from '../../src/core/sampler.ts';
import type { Tensor } from '../../src/core/tensor.ts';

const f = Math.fround;

function maxRelDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!)));
  return m;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  const d = maxRelDiff(actual, expected);
  expect(d, `${what}: max relative difference ${d}`).toBeLessThanOrEqual(tol);
}

/** The config of each reference case (reference.py's keyword arguments in diffusers' config keys). */
const SCHEDULE_CONFIGS: Record<string, [Record<string, unknown>, number]> = {
  'linspace-10': [{}, 10],
  'leading-10-offset-1': [{ timestep_spacing: 'leading', steps_offset: 1 }, 10],
  'trailing-10': [{ timestep_spacing: 'trailing' }, 10],
  'karras-linspace-10': [{ use_karras_sigmas: true }, 10],
  'karras-leading-10': [{ timestep_spacing: 'leading', use_karras_sigmas: true }, 10],
  'log_linear-10': [{ interpolation_type: 'log_linear' }, 10],
  'karras-log_linear-6': [{ interpolation_type: 'log_linear', use_karras_sigmas: true }, 6],
  'sigma_min-linspace-10': [{ final_sigmas_type: 'sigma_min' }, 10],
  'karras-cosine-7': [{ use_karras_sigmas: true, beta_schedule: 'squaredcos_cap_v2' }, 7],
  'karras-edm-5': [{ use_karras_sigmas: true, sigma_min: 0.002, sigma_max: 80 }, 5],
};

const CHAIN_CASES: Record<string, { config: Record<string, unknown>; n: number; seed: number; ancestral: boolean }> = {
  'leading-10': { config: { timestep_spacing: 'leading' }, n: 10, seed: 0, ancestral: false },
  'karras-linspace-8': { config: { use_karras_sigmas: true }, n: 8, seed: 3, ancestral: false },
  'v-trailing-6': { config: { timestep_spacing: 'trailing', prediction_type: 'v_prediction' }, n: 6, seed: 5, ancestral: false },
  'sample-log_linear-5': { config: { interpolation_type: 'log_linear', prediction_type: 'sample' }, n: 5, seed: 9, ancestral: false },
  'ancestral-leading-10': { config: { timestep_spacing: 'leading' }, n: 10, seed: 1, ancestral: true },
  'ancestral-v-linspace-5': { config: { prediction_type: 'v_prediction' }, n: 5, seed: 2, ancestral: true },
};

const SHAPE = [1, 1, 4, 5];

/** reference.py's fake_model in torch float32: 0.9 x + 0.2 sin(k + t / 100). */
function fakeModel(x: Tensor, t: number): Tensor {
  const data = new Float32Array(x.data.length);
  for (let k = 0; k < data.length; k++) data[k] = f(f(0.9) * x.data[k]!) + f(f(0.2) * f(Math.sin(f(k + f(t / 100)))));
  return { data, shape: x.shape };
}

/** diffusers' generic loop, as src/engine/pipeline.ts runs it; records the first two steps. */
function runChain(name: string) {
  const c = CHAIN_CASES[name]!;
  const sampler = euler.create(c.config, euler.options.parse({ ancestral: c.ancestral }));
  sampler.setTimesteps(c.n);
  const g = new TorchGenerator(c.seed);
  const sigma = f(sampler.initNoiseSigma!);
  let x: Tensor = { data: g.randn(SHAPE).map((v) => v * sigma), shape: SHAPE };
  const steps: { modelInput: Float32Array; x0: Float32Array; prev: Float32Array }[] = [];
  for (const t of sampler.timesteps) {
    const input = sampler.scaleModelInput!(x, t);
    const out: StepOutput = sampler.step(fakeModel(input, t), t, x, g);
    expect(out.evaluateAgain).toBeFalsy();
    steps.push({ modelInput: input.data, x0: out.predOriginalSample.data, prev: out.prevSample.data });
    x = out.prevSample;
  }
  return { sampler, steps, final: x.data };
}

const SCHEDULES: Record<string, { timesteps: number[]; sigmas: number[]; initNoiseSigma: number }> = {
  'linspace-10': {
    timesteps: [999.0, 888.0, 777.0, 666.0, 555.0, 444.0, 333.0, 222.0, 111.0, 0.0],
    sigmas: [157.40726, 54.567513, 21.417496, 9.488921, 4.7033343, 2.554691, 1.4623569, 0.82193565, 0.3803714, 0.01000133, 0.0],
    initNoiseSigma: 157.40725708007812,
  },
  'leading-10-offset-1': {
    timesteps: [901.0, 801.0, 701.0, 601.0, 501.0, 401.0, 301.0, 201.0, 101.0, 1.0],
    sigmas: [61.378853, 25.945421, 12.110893, 6.2120934, 3.4619226, 2.05138, 1.2464213, 0.72791666, 0.34569675, 0.014832044, 0.0],
    initNoiseSigma: 61.38699722290039,
  },
  'trailing-10': {
    timesteps: [999.0, 899.0, 799.0, 699.0, 599.0, 499.0, 399.0, 299.0, 199.0, 99.0],
    sigmas: [157.40726, 60.27141, 25.528482, 11.93952, 6.1352096, 3.4241366, 2.0308514, 1.2339282, 0.71927875, 0.33882868, 0.0],
    initNoiseSigma: 157.40725708007812,
  },
  'karras-linspace-10': {
    timesteps: [999.0, 936.9221, 863.82965, 775.13434, 662.63885, 510.707, 300.99026, 102.16523, 18.309187, 0.0],
    sigmas: [157.40726, 85.710724, 44.04764, 21.105602, 9.274739, 3.6526399, 1.2463602, 0.3497061, 0.073930286, 0.01000133, 0.0],
    initNoiseSigma: 157.40725708007812,
  },
  'karras-leading-10': {
    timesteps: [900.0, 834.23755, 756.1651, 660.3031, 537.18835, 374.0989, 187.77557, 61.76438, 12.379122, 0.0],
    sigmas: [60.822304, 34.16033, 18.216455, 9.129298, 4.241563, 1.7931768, 0.67173505, 0.2143115, 0.054678693, 0.01000133, 0.0],
    initNoiseSigma: 60.83052444458008,
  },
  'log_linear-10': {
    timesteps: [999.0, 888.0, 777.0, 666.0, 555.0, 444.0, 333.0, 222.0, 111.0, 0.0],
    sigmas: [157.40726, 59.886387, 22.784073, 8.668313, 3.2979033, 1.254704, 0.47735843, 0.1816134, 0.06909572, 0.026287809, 0.01000133, 0.0],
    initNoiseSigma: 157.40725708007812,
  },
  'karras-log_linear-6': {
    timesteps: [999.0, 879.5137, 711.26733, 433.74283, 76.57036, 0.0],
    sigmas: [157.40726, 50.580914, 13.037984, 2.4228885, 0.26313806, 0.01000133, 0.0],
    initNoiseSigma: 157.40725708007812,
  },
  'sigma_min-linspace-10': {
    timesteps: [999.0, 888.0, 777.0, 666.0, 555.0, 444.0, 333.0, 222.0, 111.0, 0.0],
    sigmas: [157.40726, 54.567513, 21.417496, 9.488921, 4.7033343, 2.554691, 1.4623569, 0.82193565, 0.3803714, 0.01000133, 0.01000133],
    initNoiseSigma: 157.40725708007812,
  },
  'karras-cosine-7': {
    timesteps: [999.0, 998.67773, 998.2943, 997.10846, 983.28613, 682.22473, 6.2028647e-07],
    sigmas: [20291.303, 6666.475, 1773.3945, 345.88535, 40.843155, 1.858298, 0.006427109, 0.0],
    initNoiseSigma: 20291.302734375,
  },
  'karras-edm-5': {
    timesteps: [929.61804, 751.1231, 440.99384, 48.0685, 0.0],
    sigmas: [80.0, 17.527832, 2.515219, 0.16975276, 0.002, 0.0],
    initNoiseSigma: 80.0,
  },
};

const CHAINS: Record<string, { timesteps: number[]; initNoiseSigma: number; firstSteps: { modelInput: number[]; x0: number[]; prev: number[] }[]; final: number[] }> = {
  'leading-10': {
    timesteps: [900.0, 800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0, 0.0],
    initNoiseSigma: 60.83052444458008,
    firstSteps: [
      {
        modelInput: [-1.1258398, -1.1523602, -0.25057858, -0.4338788, 0.59883946, -1.5550951, -0.3413604, 1.8530061, 0.4680964, -0.15771244, 1.4436601, 0.2660494, 1.3893661, 1.5863342, 0.9462983, -0.84367675, 0.93182653, 1.2590092, 2.0049806, 0.053736903],
        x0: [-11.870071, -0.4006729, 10.638205, 3.8846016, -1.4639015, -21.521439, -9.989441, 14.787842, 14.545801, 8.174814, 6.969368, -9.485125, -1.7155991, 9.769165, 16.057198, 5.8774986, 7.2852364, -1.6081772, 0.57743835, -2.9681408],
        prev: [-35.825947, -29.892262, -0.31293678, -8.9269085, 14.569328, -52.44229, -14.549, 56.225975, 20.439526, 0.6563406, 41.17942, 1.3763199, 34.77186, 46.46688, 33.620056, -18.325253, 28.187315, 31.478508, 51.940216, -0.32906127],
      },
      {
        modelInput: [-1.3910072, -1.1606212, -0.012150337, -0.34660336, 0.56568056, -2.036167, -0.5648912, 2.1830752, 0.7936016, 0.025483612, 1.5988655, 0.05343811, 1.3500804, 1.8041607, 1.3053595, -0.7115111, 1.0944235, 1.22221, 2.0166728, -0.012776399],
        x0: [-8.699331, -5.130768, 2.7686772, 4.248396, 4.2286663, -7.442501, -6.5636244, 2.3135948, 3.5397186, 5.0145807, 8.011368, -0.6328814, -1.1983261, 0.37179565, 3.4303818, 2.5107002, 7.49905, 3.8504524, 1.3042336, -4.955784],
        prev: [-21.373936, -16.700294, 1.3288281, -1.9076152, 9.060223, -28.468143, -10.294701, 27.503544, 11.435962, 2.9782424, 23.508764, 0.3058951, 15.608334, 21.909203, 17.536165, -7.224662, 17.165407, 16.759348, 24.963322, -2.7940001],
      },
    ],
    final: [-1.2276671, -1.0431969, -0.009559762, -0.06969831, 0.6191121, -1.4707383, -0.5841152, 1.3984134, 0.52317274, 0.16389002, 1.3991232, 0.13126531, 0.8762791, 1.1098634, 0.84392875, -0.43252406, 1.0269805, 1.0464265, 1.4249938, -0.22222815],
  },
  'karras-linspace-8': {
    timesteps: [999.0, 917.31976, 815.4666, 680.6473, 484.4229, 204.56464, 32.481987, 0.0],
    initNoiseSigma: 157.40725708007812,
    firstSteps: [
      {
        modelInput: [-0.07664275, 0.35987428, -0.7820011, 0.0715263, 1.0460017, 0.52217644, -0.16680579, 0.05303233, 0.404599, 0.6112873, 0.760375, -0.033642583, 0.9979023, 0.4591712, 2.436348, -0.14680523, 0.48510423, 0.20523025, 0.33842137, 1.3527267],
        x0: [15.654908, 37.14679, 4.845169, -11.815026, -14.672989, -12.489044, 6.1355, 31.012985, 30.21883, 5.2171936, -16.639664, -27.039917, 15.674713, 33.700314, 66.99869, 2.167179, -16.164154, -26.967442, -3.5030518, 41.95282],
        prev: [3.0958872, 45.98236, -53.121887, -1.3606768, 66.5752, 30.410767, -8.540848, 20.743885, 45.383053, 46.45001, 45.128876, -17.188068, 79.74258, 51.179203, 210.40176, -9.284779, 25.756805, -0.11217117, 22.2201, 119.42047],
      },
      {
        modelInput: [0.043405402, 0.6446885, -0.7447871, -0.019077156, 0.93340725, 0.4263694, -0.11974562, 0.2908364, 0.636286, 0.65124506, 0.6327223, -0.24098262, 1.1180183, 0.71755004, 2.949905, -0.13017578, 0.36111927, -0.0015726783, 0.31153345, 1.674316],
        x0: [-3.240839, 14.308414, 8.722275, 5.3284917, -1.4705963, -11.21056, -8.124124, 8.475342, 18.72651, 13.577492, -0.019256592, -15.55048, -2.4274673, 7.704811, 34.258102, 10.751566, 2.001049, -12.315503, -10.495171, 10.512512],
        prev: [-0.64585686, 27.27936, -16.603813, 2.5891793, 26.395153, 5.8339825, -8.294778, 13.49949, 29.642754, 27.039268, 18.469564, -16.221096, 31.222366, 25.508211, 106.39151, 2.5463896, 11.729379, -7.3180604, 2.9022121, 55.111916],
      },
    ],
    final: [-0.23704894, 0.48709455, -0.48643374, 0.2660648, 0.96099997, 0.23478915, -0.3917718, 0.09872175, 0.679272, 0.86283183, 0.7584578, -0.28771147, 0.72860044, 0.42102012, 2.6698732, 0.13939068, 0.56655633, 0.0061879912, 0.042999383, 1.2347462],
  },
  'v-trailing-6': {
    timesteps: [999.0, 832.0, 666.0, 499.0, 332.0, 166.0],
    initNoiseSigma: 157.40725708007812,
    firstSteps: [
      {
        modelInput: [1.8422928, 0.51887673, -1.7118868, -1.701345, -0.12966007, -0.6017535, 0.14499564, -0.14982414, 2.6145244, -0.43401423, 0.35232833, -0.064550176, 1.4829025, 0.4940281, 0.24921376, 1.7469962, 0.74476194, 0.031656258, -1.1723907, -1.50691],
        x0: [-1.5392078, -0.26369047, 1.6387864, 1.4381585, -0.08196611, 0.40617657, -0.07391098, 0.3256029, -2.1849074, 0.35985178, -0.4966109, -0.11073092, -1.3253944, -0.27331126, -0.040753324, -1.5327156, -0.8167481, -0.22013499, 0.99157983, 1.47784],
        prev: [60.547028, 17.18657, -56.097107, -55.90161, -4.4110537, -19.852669, 4.8024597, -4.7662334, 85.926056, -14.266075, 11.420113, -2.2510395, 48.667618, 16.346004, 8.32222, 57.357544, 24.323547, 0.88794565, -38.52118, -49.352432],
      },
      {
        modelInput: [1.8053887, 0.5124684, -1.6727011, -1.6668718, -0.1315286, -0.59196603, 0.14319953, -0.14211935, 2.5621395, -0.4253852, 0.34052444, -0.0671214, 1.4511689, 0.48740447, 0.24815159, 1.7102847, 0.7252785, 0.026476726, -1.1486229, -1.4715887],
        x0: [-1.7488878, -0.46664372, 1.6108851, 1.6392972, 0.16315672, 0.37808424, -0.3211314, 0.047985647, -2.1136467, 0.56973344, -0.1951968, -0.032235097, -1.4611056, -0.54825747, -0.15127528, -1.2934862, -0.48566368, -0.060245622, 0.81366444, 1.116848],
        prev: [15.884975, 4.530382, -14.724293, -14.648586, -1.1316476, -5.3485565, 1.129184, -1.3147569, 22.807411, -3.6297808, 3.0927038, -0.6603036, 12.728638, 4.2339354, 2.247284, 15.308632, 6.5369835, 0.20815521, -10.320698, -13.169296],
      },
    ],
    final: [0.11254117, 0.040305972, -0.11501798, -0.09319788, 0.013979927, -0.123085484, -0.0757834, -0.05596956, 0.3278277, 0.045525312, 0.08892466, -0.043497086, 0.067862004, -0.008650169, 0.050977826, 0.2746663, 0.15020777, -0.008170396, -0.2084427, -0.23936385],
  },
  'sample-log_linear-5': {
    timesteps: [999.0, 749.25, 499.5, 249.75, 0.0],
    initNoiseSigma: 157.40725708007812,
    firstSteps: [
      {
        modelInput: [-1.0673732, -0.71723086, 1.0896974, -1.574652, 1.515849, -1.5260545, -1.5409, -0.7915926, 0.8376378, 0.160245, -0.33538795, -1.4567355, -0.27445877, -1.0568899, -1.570505, -1.4153097, -0.6945186, -0.35320523, -2.219998, 0.9683031],
        x0: [-1.0677564, -0.84550464, 0.8717307, -1.3349724, 1.5621021, -1.2418785, -1.4424725, -0.90415287, 0.6023634, 0.17221703, -0.1200854, -1.1426437, -0.24678312, -1.1193708, -1.5954095, -1.3022301, -0.47385654, -0.12603481, -1.9418943, 0.74024874],
        prev: [-25.232788, -17.064888, 25.573807, -37.019455, 35.8739, -35.832565, -36.342377, -18.80935, 19.60035, 3.7983952, -7.744362, -34.16829, -6.4644814, -25.038086, -37.147705, -33.360916, -16.229546, -8.155407, -52.24243, 22.695435],
      },
      {
        modelInput: [-1.1064097, -0.7482628, 1.1213627, -1.6232326, 1.5730022, -1.5711898, -1.593544, -0.8247541, 0.859438, 0.1665524, -0.33957553, -1.4982144, -0.2834552, -1.0978724, -1.6288562, -1.4628127, -0.7116347, -0.35759908, -2.2907312, 0.9951516],
        x0: [-0.8086939, -0.5128406, 0.9956923, -1.6361302, 1.2398915, -1.4288313, -1.2743295, -0.55477256, 0.81625414, 0.008597627, -0.5010668, -1.4182962, -0.13519876, -0.7886054, -1.3703227, -1.4126537, -0.8399892, -0.4413169, -1.9912481, 1.0911992],
        prev: [-4.3439827, -2.9086828, 4.553278, -6.7577267, 6.253025, -6.408634, -6.3502903, -3.19705, 3.5351753, 0.5571556, -1.5495048, -6.1587276, -1.0513368, -4.29862, -6.548956, -6.037035, -3.067565, -1.5579009, -9.264904, 4.2183266],
      },
    ],
    final: [-1.2570577, -0.7679213, 1.37259, -1.8621542, 1.7216375, -1.8956361, -1.8446621, -0.8713621, 1.083434, 0.22046538, -0.4550352, -1.8196007, -0.3679598, -1.2065217, -1.7691451, -1.6241798, -0.8581096, -0.51004565, -2.6959567, 1.1701933],
  },
  'ancestral-leading-10': {
    timesteps: [900.0, 800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0, 0.0],
    initNoiseSigma: 60.83052444458008,
    firstSteps: [
      {
        modelInput: [-1.5255959, -0.7502318, -0.6539809, -1.6094848, 0.8656924, 0.2444039, -0.66291136, 0.80730826, 0.43914157, 1.1712008, 1.7674273, -0.09536188, 0.061155282, -0.61774445, -0.7980698, -0.13162321, -0.7984398, 0.33573052, 0.27533352, 1.7163026],
        x0: [-14.304764, 2.0484734, 8.181305, -3.2753754, 0.16135025, -10.561675, -11.94783, 8.419064, 14.369454, 16.268501, 8.941261, -11.686284, -9.805001, -3.654667, 5.4332047, 10.214227, -3.2528725, -7.2313614, -9.956892, 7.157631],
        prev: [-23.717533, -5.423521, 3.1605713, -31.310352, 14.578662, -18.23225, -59.080376, -14.803833, 27.148739, 52.745094, 32.387108, -52.03228, 18.67151, -2.7762547, -1.669168, -8.119753, -1.3734922, 32.139835, -46.842587, 62.119003],
      },
      {
        modelInput: [-0.92087615, -0.21057802, 0.1227149, -1.2156811, 0.56604296, -0.7079001, -2.2939024, -0.5747856, 1.054099, 2.0479238, 1.257488, -2.0202475, 0.7249552, -0.10779311, -0.064808466, -0.3152641, -0.05332832, 1.2478873, -1.8187482, 2.4118826],
        x0: [-7.4802704, -2.6672876, 3.1183856, 1.9948616, 4.2296057, -3.9982815, -11.046986, -4.8375883, 4.215193, 10.258804, 7.126171, -6.009987, -2.8192863, -4.5859404, -0.12249017, 3.5381765, 4.5229077, 3.917036, -8.641087, 1.3314056],
        prev: [-0.5667124, 6.07916, -12.292248, -17.823572, 20.390045, -19.46807, -20.261333, -8.747718, 16.254042, 32.184757, 21.321949, -25.769363, -1.8890965, 3.9308567, -6.7216015, -7.125105, 17.430946, 16.50277, -18.080677, 12.994393],
      },
    ],
    final: [-0.06715087, 0.1195288, 0.20905592, 0.64257157, -0.48166418, -0.9931619, 0.24134071, -0.055703267, 0.40337688, 0.14135604, 0.6586213, 0.1929507, 0.17725347, -1.4016416, -0.40555528, -0.33159915, 0.6230136, 0.18162239, 0.18072625, -0.28224534],
  },
  'ancestral-v-linspace-5': {
    timesteps: [999.0, 749.25, 499.5, 249.75, 0.0],
    initNoiseSigma: 157.40725708007812,
    firstSteps: [
      {
        modelInput: [-1.0407802, 0.9165857, -1.304164, -1.109656, 0.029915577, -0.04983703, 1.0650564, 0.8860189, -0.81096977, 0.6736366, -1.12328, -0.09189206, 0.14047363, 1.119079, 0.3152252, 1.7527412, -0.7395527, -1.242427, -0.17524253, 0.6989469],
        x0: [1.0371898, -0.6190947, 1.2744336, 0.90940815, -0.22456753, -0.087031975, -0.89610404, -0.60005647, 0.87621367, -0.6299772, 0.82203555, -0.08629742, -0.12576108, -0.83187485, -0.099743076, -1.5378495, 0.50967854, 0.91842276, 0.100499265, -0.4933778],
        prev: [-23.18174, 0.7095424, -5.2573433, -13.37896, 16.093403, -30.527828, -9.895012, 44.317783, -16.168055, 0.39648756, 22.480255, 44.027817, -5.812721, 2.8004827, -18.38822, 10.326735, 23.315203, -8.116278, 6.603094, -18.127977],
      },
      {
        modelInput: [-1.339304, 0.04099317, -0.30373824, -0.77295727, 0.9297818, -1.7637177, -0.57167536, 2.5604198, -0.9340947, 0.02290671, 1.2987764, 2.5436673, -0.33582467, 0.16179535, -1.0623628, 0.59661776, 1.3470147, -0.46891057, 0.3814878, -1.0473275],
        x0: [0.9392208, -0.19479154, 0.2688711, 0.82477087, -0.6061717, 1.4975331, 0.3210274, -2.3397958, 0.742626, 0.121805325, -0.8967882, -2.0687318, 0.16262475, -0.3351715, 0.7976644, -0.40562826, -0.93328094, 0.5135018, -0.39101753, 0.6852757],
        prev: [1.8246816, -4.727235, 3.9047544, -2.981994, -2.452406, -3.4392204, 5.915518, -1.8872671, 0.423518, -1.0498737, 0.84094137, 1.9260168, 5.495725, 1.8245175, 0.6565765, -5.56096, -1.5997224, -1.6514932, -1.9124426, -2.2155104],
      },
    ],
    final: [-0.076105215, 0.13670148, -0.06537364, 0.12166309, -0.018927941, -0.09555922, -0.08194211, -0.07969798, 0.17250016, 0.08793757, 0.04959361, -0.1309613, -0.16484228, -0.009041591, 0.088844225, 0.17305039, 0.056886293, -0.062835105, -0.20947395, -0.16390906],
  },
};

describe('Euler schedules equal the reference (diffusers set_timesteps / init_noise_sigma)', () => {
  for (const [name, [config, n]] of Object.entries(SCHEDULE_CONFIGS)) {
    it(`${name}: ${JSON.stringify(config)}, ${n} steps`, () => {
      const ref = SCHEDULES[name]!;
      const sampler = new EulerSampler(config, { ancestral: false });
      sampler.setTimesteps(n);
      // timesteps are float32 in both; fractional ones come from Karras sigmas through log-sigma interpolation
      expectClose(sampler.timesteps, ref.timesteps, 2e-6, 'timesteps');
      expectClose(sampler.sigmas, ref.sigmas, 2e-6, 'sigmas');
      expect(sampler.initNoiseSigma).toBeCloseTo(ref.initNoiseSigma, 4);
    });
  }

  it('ancestral uses the linear-interpolation sigmas ending at 0 (EulerAncestralDiscreteScheduler ignores Karras keys)', () => {
    const a = new EulerSampler({ timestep_spacing: 'trailing', use_karras_sigmas: true, final_sigmas_type: 'sigma_min' }, { ancestral: true });
    const plain = new EulerSampler({ timestep_spacing: 'trailing' }, { ancestral: false });
    a.setTimesteps(10);
    plain.setTimesteps(10);
    expect(a.timesteps).toEqual(plain.timesteps);
    expect(a.sigmas).toEqual(plain.sigmas);
    expectClose(a.sigmas, SCHEDULES['trailing-10']!.sigmas, 2e-6, 'sigmas');
  });
});

describe('Karras sigmas by hand (Karras et al. 2022, eq. 5 with rho = 7)', () => {
  it('EDM values sigma_min = 0.002, sigma_max = 80: ends exact, the midpoint ((80^(1/7) + 0.002^(1/7)) / 2)^7', () => {
    // 80^(1/7) = 1.870122..., 0.002^(1/7) = 0.411560...; mean 1.140841...; ^7 = 2.515219
    const s = karrasSigmas(0.002, 80, 5);
    expect(s[0]).toBeCloseTo(80, 12);
    expect(s[4]).toBeCloseTo(0.002, 12);
    expect(s[2]).toBeCloseTo(2.515219, 5);
    // quarter points: (0.75 a + 0.25 b)^7 and (0.25 a + 0.75 b)^7
    expect(s[1]).toBeCloseTo(17.527832, 5);
    expect(s[3]).toBeCloseTo(0.1697528, 6);
    // the sampler's sigmas are those in float32, then 0
    const sampler = new EulerSampler({ use_karras_sigmas: true, sigma_min: 0.002, sigma_max: 80 }, { ancestral: false });
    sampler.setTimesteps(5);
    expect(Array.from(sampler.sigmas)).toEqual([...s.map(f), 0]);
  });

  it('without sigma_min / sigma_max the ends are the interpolated sigmas of the first and last timestep', () => {
    const plain = new EulerSampler({}, { ancestral: false });
    const karras = new EulerSampler({ use_karras_sigmas: true }, { ancestral: false });
    plain.setTimesteps(10);
    karras.setTimesteps(10);
    expect(karras.sigmas[0]).toBe(plain.sigmas[0]);
    expect(karras.sigmas[9]).toBe(plain.sigmas[9]);
    // rho = 7 puts the steps densely at low noise: sigma^(1/7) is linear in i
    const r = Array.from(karras.sigmas.subarray(0, 10), (v) => v ** (1 / 7));
    for (let i = 1; i < 9; i++) expect(r[i + 1]! - r[i]!).toBeCloseTo(r[1]! - r[0]!, 5);
    // and each Karras timestep is where the training sigma(t) (log-linear between steps) equals that sigma
    expect(karras.timesteps[0]).toBe(999);
    expect(karras.timesteps[9]).toBe(0);
  });
});

describe('Euler steps equal the reference chains (same fake network, same seed)', () => {
  for (const name of Object.keys(CHAIN_CASES)) {
    it(name, () => {
      const ref = CHAINS[name]!;
      const { sampler, steps, final } = runChain(name);
      expectClose(sampler.timesteps, ref.timesteps, 2e-6, 'timesteps');
      expect(sampler.initNoiseSigma).toBeCloseTo(ref.initNoiseSigma, 4);
      for (const [i, s] of ref.firstSteps.entries()) {
        expectClose(steps[i]!.modelInput, s.modelInput, 1e-5, `step ${i} model input`);
        expectClose(steps[i]!.x0, s.x0, 1e-5, `step ${i} x0`);
        expectClose(steps[i]!.prev, s.prev, 1e-5, `step ${i} prev`);
      }
      expectClose(final, ref.final, 1e-5, 'final sample');
    });
  }
});

describe('Euler step by the equations', () => {
  const X = Float32Array.from([0.3, -1.2, 0.8, 2.0, -0.1, 0.05]);
  const EPS = Float32Array.from([0.5, -0.4, 1.1, -0.7, 0.2, 0.9]);
  const shape = [2, 1, 1, 3];
  class KnownNoise implements NoiseSource {
    readonly shapes: number[][] = [];
    randn(s: readonly number[]): Float32Array {
      this.shapes.push([...s]);
      return Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => 0.5 - 0.25 * i);
    }
  }

  it('x0 = x - sigma eps, x\' = x + (x - x0) / sigma (sigma\' - sigma) = x + eps (sigma\' - sigma); no noise drawn', () => {
    const sampler = new EulerSampler({}, { ancestral: false });
    sampler.setTimesteps(10);
    const [s, sNext] = [sampler.sigmas[3]!, sampler.sigmas[4]!];
    const noise = new KnownNoise();
    const t = sampler.timesteps[3]!;
    // start mid-schedule: the index is found from the timestep, as diffusers' index_for_timestep does
    const scaled = sampler.scaleModelInput({ data: X, shape }, t);
    expectClose(scaled.data, Array.from(X, (v) => v / Math.sqrt(s * s + 1)), 1e-6, 'scaled input');
    const out = sampler.step({ data: EPS, shape }, t, { data: X, shape }, noise);
    expect(noise.shapes).toEqual([]);
    expectClose(out.predOriginalSample.data, Array.from(X, (v, i) => v - s * EPS[i]!), 1e-6, 'x0');
    expectClose(out.prevSample.data, Array.from(X, (v, i) => v + EPS[i]! * (sNext - s)), 1e-5, 'prev');
  });

  it('ancestral: sigma_up, sigma_down of the paper\'s ancestral step, one randn shaped like the sample per step', () => {
    const sampler = new EulerSampler({}, { ancestral: true });
    sampler.setTimesteps(10);
    const [s, sNext] = [sampler.sigmas[5]!, sampler.sigmas[6]!];
    const up = Math.sqrt((sNext ** 2 * (s ** 2 - sNext ** 2)) / s ** 2);
    const down = Math.sqrt(sNext ** 2 - up ** 2);
    // sigma_down^2 + sigma_up^2 = sigma'^2: the step lands on the noise level sigma'
    expect(down ** 2 + up ** 2).toBeCloseTo(sNext ** 2, 10);
    const noise = new KnownNoise();
    const t = sampler.timesteps[5]!;
    const out = sampler.step({ data: EPS, shape }, t, { data: X, shape }, noise);
    expect(noise.shapes).toEqual([shape]);
    const z = Array.from({ length: 6 }, (_, i) => 0.5 - 0.25 * i);
    expectClose(out.prevSample.data, Array.from(X, (v, i) => v + EPS[i]! * (down - s) + up * z[i]!), 1e-5, 'prev');
  });

  it('v_prediction: x0 = x / (sigma^2 + 1) - v sigma / sqrt(sigma^2 + 1)', () => {
    const sampler = new EulerSampler({ prediction_type: 'v_prediction' }, { ancestral: false });
    sampler.setTimesteps(10);
    const s = sampler.sigmas[2]!;
    const out = sampler.step({ data: EPS, shape }, sampler.timesteps[2]!, { data: X, shape }, new KnownNoise());
    expectClose(out.predOriginalSample.data, Array.from(X, (v, i) => v / (s * s + 1) - (EPS[i]! * s) / Math.sqrt(s * s + 1)), 1e-6, 'x0');
  });

  it('inputs are not modified; steps must follow the schedule', () => {
    const sampler = new EulerSampler({ timestep_spacing: 'leading' }, { ancestral: true });
    sampler.setTimesteps(5);
    const x = X.slice();
    const e = EPS.slice();
    sampler.scaleModelInput({ data: x, shape }, sampler.timesteps[0]!);
    sampler.step({ data: e, shape }, sampler.timesteps[0]!, { data: x, shape }, new KnownNoise());
    expect(x).toEqual(X);
    expect(e).toEqual(EPS);
    expect(() => sampler.step({ data: e, shape }, sampler.timesteps[3]!, { data: x, shape }, new KnownNoise())).toThrow(/expects timestep/);
  });
});

describe('Euler config and options', () => {
  it('defaults: EulerDiscreteScheduler\'s (linspace spacing), 50 steps, not ancestral', () => {
    expect(euler.options.parse({})).toEqual({ ancestral: false });
    expect(euler.stepLimits(1000)).toEqual({ min: 1, max: 1000, default: 50 });
    const s = new EulerSampler({}, { ancestral: false });
    expect(s.config.timestep_spacing).toBe('linspace');
    expect(() => euler.options.parse({ eta: 1 })).toThrow();
  });

  it('a DDPM model config works: clip_sample / thresholding / variance_type are ignored as from_config ignores them', () => {
    const s = euler.create(
      { num_train_timesteps: 1000, beta_schedule: 'linear', prediction_type: 'epsilon', variance_type: 'fixed_small', clip_sample: true, thresholding: true, timestep_spacing: 'leading', steps_offset: 0 },
      euler.options.parse({}),
    );
    s.setTimesteps(50);
    expect(s.timesteps[0]).toBe(980);
    expect(s.timesteps.at(-1)).toBe(0);
  });

  it('refuses what it does not implement, naming the key', () => {
    const create = (config: Record<string, unknown>, ancestral = false) => euler.create(config, euler.options.parse({ ancestral }));
    expect(() => create({ use_exponential_sigmas: true })).toThrow(/use_exponential_sigmas/);
    expect(() => create({ use_beta_sigmas: true })).toThrow(/use_beta_sigmas/);
    expect(() => create({ rescale_betas_zero_snr: true })).toThrow(/rescale_betas_zero_snr/);
    expect(() => create({ interpolation_type: 'cubic' })).toThrow(/interpolation_type/);
    expect(() => create({ final_sigmas_type: 'one' })).toThrow(/final_sigmas_type/);
    expect(() => create({ timestep_type: 'continuous', prediction_type: 'v_prediction' })).toThrow(/timestep_type/);
    expect(() => create({ prediction_type: 'sample' }, true)).toThrow(/sample/);
    expect(() => create({ timestep_spacing: 'leading', steps_offset: 1 }).setTimesteps(1000)).toThrow(/timestep 1000/);
    expect(() => create({}).setTimesteps(0)).toThrow(/num_inference_steps/);
  });
});
