// Runs s3rver in its own process (spawned by s3rver.ts with --openssl-legacy-provider, which its
// DES-encrypted continuation tokens need). Prints one JSON line with the port once it listens.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory) {
  process.stderr.write('usage: s3rver-child.mjs DIR [BUCKET...]\n');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent going away (a crashed test run) must not leave a server behind.
process.stdin.on('end', stop);
process.stdin.resume();
