import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactMissing, DigestMismatch, createDiskStore, hashFile, materialise, storeFile } from '@/server/artifacts/store';
import { commandStage } from '@/workflows/stages/command/definition';
import { executeCommand } from '@/workflows/stages/command/executor';
import { StageFailure, type StageArtifacts } from '@/workflows/stages/executor-types';
import { fakeContext } from '../executors/fake-context';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pipewright-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const sha = (b: string | Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('disk artifact store', () => {
  it('stores a digest once, reads it back verified, and refuses changed or missing blobs', async () => {
    const root = tmp();
    const store = createDiskStore(root);
    const file = path.join(tmp(), 'a.bin');
    const bytes = Buffer.alloc(300_000, 7);
    writeFileSync(file, bytes);
    expect(await hashFile(file)).toEqual({ digest: sha(bytes), size: bytes.length });

    const first = await storeFile(store, file);
    expect(first).toEqual({ digest: sha(bytes), size: bytes.length, written: true });
    const blob = store.blobPath(first.digest);
    const mtime = statSync(blob).mtimeMs;
    expect((await storeFile(store, file)).written).toBe(false);
    expect(statSync(blob).mtimeMs).toBe(mtime);
    // Nothing half-written is left behind.
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);

    const dest = path.join(tmp(), 'deep', 'copy.bin');
    await materialise(store, first.digest, dest);
    expect(readFileSync(dest).equals(bytes)).toBe(true);

    chmodSync(blob, 0o644);
    writeFileSync(blob, 'changed');
    const other = path.join(path.dirname(dest), 'other.bin');
    await expect(materialise(store, first.digest, other)).rejects.toBeInstanceOf(DigestMismatch);
    expect(existsSync(other)).toBe(false);
    expect(readdirSync(path.dirname(dest))).toEqual(['copy.bin']);

    rmSync(blob);
    await expect(materialise(store, first.digest, other)).rejects.toBeInstanceOf(ArtifactMissing);
    await expect(store.has('sha256:nothex')).rejects.toThrow(/not a sha256 digest/);
  });
});

describe('command stage artifacts', () => {
  /** StageArtifacts over a disk store, keyed by stage.name like the real one. */
  function memoryArtifacts(root: string) {
    const store = createDiskStore(root);
    const rows = new Map<string, string>();
    const api: StageArtifacts = {
      async publish(name, file) {
        const stored = await storeFile(store, file);
        rows.set(`build.${name}`, stored.digest);
        return stored;
      },
      async materialise(ref, dest) {
        const digest = rows.get(ref);
        if (!digest) throw new StageFailure(`no artifact ${ref}`, 'InvalidConfig');
        const { size } = await materialise(store, digest, dest);
        return { stage: 'build', name: ref.split('.')[1]!, digest, size };
      },
    };
    return { api, rows };
  }

  it('publishes declared files as outputs and places inputs before the command runs', async () => {
    const { api } = memoryArtifacts(tmp());
    const build = fakeContext({ artifacts: api });
    const parse = (c: Record<string, unknown>) => commandStage.configSchema.parse(c);
    const res = await executeCommand(parse({ command: 'mkdir -p dist; echo hi > dist/app.txt', artifacts: [{ name: 'app', path: 'dist/app.txt' }] }), build.ctx);
    expect(res.outputs).toEqual({ 'artifact.app.digest': sha('hi\n'), 'artifact.app.size': '3' });
    expect(res.summary).toMatch(/stored 1 artifact$/);

    const deploy = fakeContext({ artifacts: api, nodeId: 'deploy' });
    const got = await executeCommand(parse({ command: 'cat in/app.txt', inputs: [{ artifact: 'build.app', path: 'in/app.txt' }] }), deploy.ctx);
    expect(got.summary).toMatch(/^exited 0/);
    expect(deploy.log.text('stdout')).toBe('hi\n');
    expect(deploy.log.text('system')).toContain(`${sha('hi\n')} verified`);

    // A declared file the command did not produce, and paths leaving the working directory, fail the stage.
    await expect(executeCommand(parse({ command: 'true', artifacts: [{ name: 'x', path: 'nope.txt' }] }), build.ctx)).rejects.toThrow(/produced no file nope.txt/);
    await expect(executeCommand(parse({ command: 'true', inputs: [{ artifact: 'build.app', path: '../../etc/x' }] }), deploy.ctx)).rejects.toThrow(/inside the working directory/);
    // Without a store on the worker, asking for artifacts is a clear failure.
    const bare = fakeContext();
    await expect(executeCommand(parse({ command: 'true', inputs: [{ artifact: 'build.app', path: 'a' }] }), bare.ctx)).rejects.toThrow(/no artifact store/);
    for (const c of [build, deploy, bare]) c.cleanup();
  });

  it('checks artifact declarations and references in the editor and API', () => {
    const check = (c: Record<string, unknown>) => commandStage.check!(commandStage.configSchema.parse({ command: 'x', ...c }));
    expect(check({ artifacts: [{ name: 'a', path: 'a' }, { name: 'a', path: 'b' }] })).toEqual([{ path: 'artifacts[1].name', message: 'artifact "a" is declared twice' }]);
    expect(check({ inputs: [{ artifact: 'build', path: 'a' }] })[0]?.path).toBe('inputs[0].artifact');
    expect(check({ inputs: [{ artifact: 'build.app', path: '../a' }] })[0]?.message).toMatch(/inside the working directory/);
    expect(check({ inputs: [{ artifact: '${{ stages.build.outputs.artifact.app.digest }}', path: 'a' }, { artifact: sha('x'), path: 'b' }] })).toEqual([]);
  });
});
