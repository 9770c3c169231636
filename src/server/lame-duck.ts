// Lame duck mode (SIGUSR2 / --signal ldm), as nats-server's lameDuckMode:
// stop accepting, tell clients (INFO ldm:true, without our own URL in
// connect_urls) so they reconnect elsewhere, wait the grace period, then
// close the remaining clients spread evenly over lame_duck_duration minus the
// grace period, then shut the server down.
import type { Server } from './server.js';

const inLameDuck = new WeakSet<Server>();

export function isLameDuck(server: Server): boolean {
  return inLameDuck.has(server);
}

/** Run lame duck mode; resolves once every client is closed (the caller then shuts down). */
export async function enterLameDuck(server: Server): Promise<void> {
  if (inLameDuck.has(server)) return;
  inLameDuck.add(server);
  const o = server.options;
  server.logger.info('Entering lame duck mode, stop accepting new clients');
  server.stopAccepting();
  const own = new Set(server.clientUrls().map((u) => u.replace(/^nats:\/\//, '')));
  const urls = server.info().connect_urls;
  if (Array.isArray(urls)) server.setInfoField('connect_urls', urls.filter((u) => !own.has(u)));
  server.setInfoField('ldm', true);
  server.sendAsyncInfo();
  server.flushDirty();

  const grace = o.lameDuckGracePeriod;
  const duration = o.lameDuckDuration;
  if (server.clients.size > 0 && grace > 0) {
    server.logger.info(`Waiting ${grace}ms grace period before closing clients`);
    await waitUntilEmptyOr(server, grace);
  }
  const clients = [...server.clients.values()];
  if (clients.length === 0) return;
  const spread = Math.max(0, duration - grace);
  // At most 1s between closes; batch when there are many clients (nats-server does the same).
  let perSleep = clients.length > 0 ? spread / clients.length : 0;
  let batch = 1;
  if (perSleep < 1) {
    batch = Math.ceil(clients.length / Math.max(1, spread));
    perSleep = 1;
  } else if (perSleep > 1000) perSleep = 1000;
  server.logger.info(`Closing existing clients (${clients.length}) over ${spread}ms`);
  for (let i = 0; i < clients.length; i++) {
    const c = clients[i]!;
    if (!c.closed) c.close('Server Shutdown');
    if ((i + 1) % batch === 0 && i + 1 < clients.length) await sleep(perSleep);
  }
  server.flushDirty();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntilEmptyOr(server: Server, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && server.clients.size > 0) await sleep(Math.min(50, deadline - Date.now()));
}
