// The line to the server: one WebSocket for commands and frames, fetch for files.
// Every request carries the token the page's own URL came with.

const token = new URLSearchParams(location.search).get("token") || "";

export class Connection {
  constructor(onMessage, onClose) {
    this.session = null;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
    this.socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "hello") this.session = message.session;
      onMessage(message);
    });
    this.socket.addEventListener("close", () => onClose());
  }

  send(message) {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  url(path) {
    const query = new URLSearchParams({session: this.session || "", token});
    return `${path}?${query}`;
  }

  // POST a file's bytes; resolves to the JSON answer, rejects with the server's message.
  async upload(path, file) {
    const response = await fetch(this.url(path), {
      method: "POST", body: file, headers: {"X-Descent-Token": token},
    });
    const answer = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
  }

  // Have the browser download what the server sends at ``path``.
  download(path) {
    const link = document.createElement("a");
    link.href = this.url(path);
    link.download = "";
    document.body.append(link);
    link.click();
    link.remove();
  }
}
