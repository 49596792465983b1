/** A plain local HTTP server for tests of servers that answer what no model server should. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What answers each request, once its body has been read. */
export type RawHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** Listens on a free port of 127.0.0.1; `received` counts the requests it got. */
export async function startRawServer(handler: RawHandler) {
  let received = 0;
  const server: Server = createServer((request, response) => {
    received += 1;
    request.resume();
    request.on("end", () => handler(request, response));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received: () => received,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
