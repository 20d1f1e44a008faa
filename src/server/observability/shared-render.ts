/**
 * One rendering of /metrics shared by every scrape that arrives while it is being made. Each
 * render walks every series; fifty scrapers each rendering on their own took the event loop
 * away from checks, while one render in flight costs the same however many scrapers wait on it.
 */
export class SharedRender {
  private inFlight: Promise<string> | undefined;

  constructor(private readonly render: () => Promise<string>) {}

  get(): Promise<string> {
    if (!this.inFlight) {
      const started = this.render();
      this.inFlight = started;
      const clear = (): void => {
        if (this.inFlight === started) this.inFlight = undefined;
      };
      started.then(clear, clear);
    }
    return this.inFlight;
  }
}
