import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchRoot } from './paths.js';

export interface CachingProxy {
  /** http://127.0.0.1:PORT/ : the origin's `path` as the proxy serves it. */
  url: string;
  /** Lines of the proxy's access log: `URI cache-status`, in order. */
  log(): Promise<string[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null)
      throw new Error(
        `nginx exited with ${child.exitCode}: ${await readFile(errorLog, 'utf8').catch(() => '')}`,
      );
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error('nginx did not start listening');
}

/**
 * nginx as a CDN edge on loopback: a proxy cache in front of `origin`, keeping each response as
 * long as the origin's Cache-Control allows (nginx's default: `no-cache` is not stored, `max-age`
 * is). Everything it writes stays in its own scratch folder; stop() ends it.
 */
export async function startCachingProxy(origin: string): Promise<CachingProxy> {
  const dir = await mkdtemp(join(scratchRoot, 'nginx-'));
  await mkdir(join(dir, 'cache'));
  await mkdir(join(dir, 'tmp'));
  const port = await freePort();
  const errorLog = join(dir, 'error.log');
  const accessLog = join(dir, 'access.log');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`)
    .join('\n');
  const conf = `
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 64; }
http {
${temp}
  log_format cache '$uri $upstream_cache_status';
  access_log ${accessLog} cache;
  proxy_cache_path ${join(dir, 'cache')} keys_zone=edge:1m;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${origin.endsWith('/') ? origin : `${origin}/`};
      proxy_cache edge;
      proxy_cache_revalidate on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`;
  const confFile = join(dir, 'nginx.conf');
  await writeFile(confFile, conf);
  const child = spawn('nginx', ['-p', dir, '-c', confFile], { stdio: 'ignore' });
  await waitForPort(port, child, errorLog);
  return {
    url: `http://127.0.0.1:${port}/`,
    async log() {
      return (await readFile(accessLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    },
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        // QUIT lets the master stop its worker and cache manager before it exits.
        child.kill('SIGQUIT');
        await Promise.race([gone, sleep(3000).then(() => child.kill('SIGKILL'))]);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
