/* IPv4/IPv6 addresses as the routing table stores them and SPOP carries
 * them: family plus raw network-order bytes.
 */
#ifndef COMMON_NETADDR_T_H
#define COMMON_NETADDR_T_H

#include <stdint.h>

#define NETADDR_STRLEN 46  /* INET6_ADDRSTRLEN */

struct netaddr {
	uint8_t family;        /* 0 (none), AF_INET or AF_INET6 */
	uint8_t ip[16];        /* network order; IPv4 in the first 4 bytes */
};

#endif
