/**
 * A TCP proxy in front of a server, that a test can take down and bring back: `cut()` drops every
 * connection and refuses new ones (as a stopped server would), `restore()` listens again on the
 * same port. For outage tests that must not stop the machine's shared server.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
	port: number;
	cut(): Promise<void>;
	restore(): Promise<void>;
	close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
	const sockets = new Set<Socket>();
	const track = (socket: Socket) => {
		sockets.add(socket);
		socket.once("close", () => sockets.delete(socket));
	};
	const newServer = (): Server =>
		createServer(client => {
			const upstream = connect(targetPort, targetHost);
			track(client);
			track(upstream);
			client.pipe(upstream).pipe(client);
			client.once("error", () => upstream.destroy());
			upstream.once("error", () => client.destroy());
		});
	const listen = (server: Server, port: number) =>
		new Promise<number>((resolve, reject) => {
			server.once("error", reject);
			server.listen(port, "127.0.0.1", () =>
				resolve((server.address() as { port: number }).port)
			);
		});
	let server = newServer();
	const port = await listen(server, 0);
	let up = true;
	const cut = async () => {
		if (!up) return;
		up = false;
		const closed = new Promise<void>(resolve => server.close(() => resolve()));
		for (const socket of sockets) socket.destroy();
		await closed;
	};
	return {
		port,
		cut,
		async restore() {
			if (up) return;
			server = newServer();
			await listen(server, port);
			up = true;
		},
		close: cut
	};
}
