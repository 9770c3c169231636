// Route protocol JSON shapes (nats-server's route Info and connectInfo, JSON names).

/** INFO on the route port. */
export interface RouteInfoWire {
  server_id: string;
  server_name?: string;
  version?: string;
  go?: string;
  proto?: number;
  host?: string;
  port?: number;
  headers?: boolean;
  max_payload?: number;
  jetstream?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  cluster?: string;
  cluster_dynamic?: boolean;
  /** This server's client URLs ("host:port"), unless no_advertise. */
  connect_urls?: string[];
  /** nats-route://host:port/ where others should dial this server (advertise, or filled in by gossip). */
  ip?: string;
  [key: string]: unknown;
}

/** CONNECT sent by the dialing side. */
export interface RouteConnectWire {
  echo?: boolean;
  verbose?: boolean;
  pedantic?: boolean;
  user?: string;
  pass?: string;
  tls_required?: boolean;
  headers?: boolean;
  /** The dialer's server_id. */
  name?: string;
  cluster?: string;
  cluster_dynamic?: boolean;
  /** Present only on client CONNECTs: a route must not carry it. */
  lang?: string;
  gateway?: string;
  [key: string]: unknown;
}
