// Reference validator for bench/run.sh (BENCH_PARTS=client): the `jose` npm package checks the
// tokens latchkey-bench-validator wrote, the way that program's Validator does, and reports
// validations per CPU-second of this process.
//
//   node bench/validator_jose.mjs DIR SECONDS
//
// DIR holds jwks.json, config.json and tokens-ES256.txt / tokens-RS256.txt. Per token: jwtVerify
// with a local JWKS (keys imported once, cached by jose), issuer, audience, typ at+jwt, the two
// algorithms, the RFC 9068 required claims, then the scope check. Each algorithm: one pass over
// every token (warm-up, and each must pass), then SECONDS of process CPU time (user + system, every
// thread of the process) measured. One JSON line per algorithm on stdout.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [dir, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!dir || !(seconds > 0)) {
  console.error('usage: node validator_jose.mjs DIR SECONDS');
  process.exit(2);
}
const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
const jwks = createLocalJWKSet(JSON.parse(readFileSync(`${dir}/jwks.json`, 'utf8')));
const options = {
  issuer: config.issuer,
  audience: config.audience,
  typ: 'at+jwt',
  algorithms: config.algorithms,
  requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id', 'jti'],
};

async function validate(token) {
  const { payload } = await jwtVerify(token, jwks, options);
  if (typeof payload.scope !== 'string' || !payload.scope.split(' ').includes(config.required_scope)) {
    throw new Error('insufficient_scope');
  }
  return payload;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

for (const alg of ['ES256', 'RS256']) {
  const tokens = readFileSync(`${dir}/tokens-${alg}.txt`, 'utf8').split('\n').filter(Boolean);
  for (const token of tokens) await validate(token);
  let done = 0;
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  let cpu = 0;
  do {
    for (let k = 0; k < 64; k += 1) {
      await validate(tokens[done % tokens.length]);
      done += 1;
    }
    cpu = cpuSeconds() - cpu0;
  } while (cpu < seconds);
  const wall = (performance.now() - wall0) / 1000;
  console.log(JSON.stringify({
    impl: 'jose', level: 'validator', alg, tokens: tokens.length, validations: done, cpu_s: cpu, wall_s: wall,
    per_cpu_s: done / cpu, us_per_validation: (1e6 * cpu) / done,
    version: JSON.parse(readFileSync(new URL('./node_modules/jose/package.json', import.meta.url), 'utf8')).version,
  }));
}
