// The reference: node:http alone, answering /time with the same JSON as the app.
import http from "node:http";

const server = http
  .createServer((_req, res) => {
    const body = JSON.stringify({ message: "Automation for the People", timestamp: Math.floor(Date.now() / 1000) });
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  })
  .listen(Number(process.env.PORT), process.env.HOST);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
