/** A URL the backend can fetch a local file from. */
export interface HostedMedia {
  readonly url: string;
  /** True for `oss://` URLs that need DashScope's resolve header. */
  readonly ossResolve: boolean;
}
