// Runs s3rver in its own process (spawned by s3rver.ts with --openssl-legacy-provider, which its
// DES-encrypted continuation tokens need). Prints one JSON line with the port once it listens.
import S3rver from 's3rver';

const [directory, ...buckets] = process.argv.slice(2);
if (!directory) {
  process.stderr.write('usage: s3rver-child.mjs DIR [BUCKET...]\n');
  process.exit(2);
}
// s3rver's folder store can throw outside any request (concurrent PUT and DELETE of one key race
// on its metadata files); that must fail the one request, not kill the server under the tests.
process.on('uncaughtException', (err) => {
  process.stderr.write(`s3rver: uncaught ${err?.stack ?? err}\n`);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`s3rver: unhandled rejection ${err?.stack ?? err}\n`);
});
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
