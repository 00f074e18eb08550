// The address a server registers for others to dial. A server bound to every interface
// (0.0.0.0, ::) cannot register its bind address: nobody can dial 0.0.0.0. It registers this
// host's first non-internal IPv4 address instead, or refuses to start, naming the variable
// that sets the address explicitly.
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import { ConfigError, type EnvReader } from "./config";

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** True for bind addresses that mean "every interface". */
export function isWildcardHost(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

/**
 * The first IPv4 address of this host that is neither loopback nor link-local (169.254/16,
 * which other hosts cannot route to), in the order the system lists its interfaces.
 */
export function firstExternalIpv4(
  interfaces: Interfaces = networkInterfaces(),
): string | undefined {
  for (const addresses of Object.values(interfaces)) {
    for (const info of addresses ?? []) {
      if (info.family === "IPv4" && !info.internal && !info.address.startsWith("169.254.")) {
        return info.address;
      }
    }
  }
  return undefined;
}

function noAddressMessage(bindHost: string, variable: string): string {
  return `${variable} is not set and the server binds every interface (${bindHost || "all"}), but this host has no non-internal IPv4 address to register: set ${variable} to the address other hosts dial`;
}

/**
 * The address to register for a server bound to `bindHost`: the bind host itself, or for a
 * wildcard, this host's first external IPv4 address. Throws a ConfigError naming `variable`
 * when there is none.
 */
export function advertiseAddressFor(
  bindHost: string,
  variable: string,
  interfaces?: Interfaces,
): string {
  if (!isWildcardHost(bindHost)) return bindHost;
  const found = firstExternalIpv4(interfaces);
  if (found === undefined) throw new ConfigError(noAddressMessage(bindHost, variable));
  return found;
}

/**
 * Reads `variable` (the explicit advertise address), falling back to advertiseAddressFor;
 * a missing address is recorded as a problem of `env` rather than thrown.
 */
export function readAdvertiseAddress(
  env: EnvReader,
  variable: string,
  bindHost: string,
  interfaces?: Interfaces,
): string {
  const explicit = env.optionalString(variable);
  if (explicit !== undefined) {
    if (isWildcardHost(explicit))
      env.invalid(`${variable} must be an address others can dial, got "${explicit}"`);
    return explicit;
  }
  if (!isWildcardHost(bindHost)) return bindHost;
  const found = firstExternalIpv4(interfaces);
  if (found !== undefined) return found;
  env.invalid(noAddressMessage(bindHost, variable));
  return bindHost;
}
