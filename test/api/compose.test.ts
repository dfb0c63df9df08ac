// docker-compose.yml and Dockerfile sanity. No Docker engine runs here, so
// the compose file is checked with `docker-compose config` (apt package
// docker-compose, installed by .ci/run); without the binary the test is skipped loudly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasCompose) {
  process.stderr.write('\n*** SKIPPING docker-compose validation: the docker-compose binary is not installed (apt-get install docker-compose) ***\n\n');
}

describe('container delivery', () => {
  it('docker-compose config -q accepts docker-compose.yml', { skip: hasCompose ? false : 'docker-compose is not installed' }, () => {
    const quiet = spawnSync('docker-compose', ['config', '-q'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(quiet.status, 0, quiet.stderr);
    const full = spawnSync('docker-compose', ['config'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);
    assert.match(full.stdout, /healthcheck:[\s\S]*\/healthz/);
    assert.match(full.stdout, /packetpath-data:\/data/);
    assert.match(full.stdout, /DATABASE_URL: file:\/data\/packetpath\.db/);
    assert.match(full.stdout, /HOST: 0\.0\.0\.0/);
  });

  it('the `postgres` profile: PostgreSQL and API replicas on it (docker-compose --profile postgres config)', { skip: hasCompose ? false : 'docker-compose is not installed' }, () => {
    const full = spawnSync('docker-compose', ['--profile', 'postgres', 'config'], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(full.status, 0, full.stderr);
    assert.match(full.stdout, /image: postgres:15/);
    assert.match(full.stdout, /api-postgres:[\s\S]*DATABASE_URL: postgres:\/\/packetpath:packetpath@postgres:5432\/packetpath/);
    assert.match(full.stdout, /condition: service_healthy/);
    assert.match(full.stdout, /published: 8081-8083|8081-8083:8080/);
    // The default profile is still the SQLite service alone.
    assert.doesNotMatch(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8').split('  postgres:')[0]!, /profiles:/);
  });

  it('the Dockerfile builds from node:20-slim, runs npm ci and the compiled server on a /data volume', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:20-slim/m);
    assert.match(dockerfile, /npm ci/);
    assert.match(dockerfile, /^CMD \["node", "bin\/packetpath\.mjs", "serve"\]/m);
    assert.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m);
    assert.match(dockerfile, /HOST=0\.0\.0\.0/);
    assert.match(dockerfile, /DATABASE_URL=file:\/data\//);
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'src/generated', '.git']) assert.ok(ignore.includes(entry), `.dockerignore has ${entry}`);
  });
});
