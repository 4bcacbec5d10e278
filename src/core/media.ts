/** A URL the backend can fetch a local file from. */
export interface HostedMedia {
  readonly url: string;
  /** True for `oss://` URLs that need DashScope's resolve header. */
  readonly ossResolve: boolean;
  /** The lane whose key alone can read it (DashScope's temporary upload); `undefined` when any can. */
  readonly laneId?: string | undefined;
}
