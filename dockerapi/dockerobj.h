/* Reading what Docker objects share (strings kept in an arena, label maps,
 * RFC 3339 times, a task's network addresses, published ports) from a
 * jscan walk, the list answers that hold them, and the daemon's own
 * /version and /info.
 *
 * An entry of a list is skipped, not the whole list, when one of its
 * fields is unusable: readers consume the value in any case and report a
 * field they could not use through <*reason> (a static string). They
 * return -1 only for a syntax error, which ends the whole document.
 */
#ifndef DOCKERAPI_DOCKEROBJ_H
#define DOCKERAPI_DOCKEROBJ_H

#include <stddef.h>
#include <stdint.h>
#include "common/jscan.h"
#include "routing/model-t.h"

struct arena;

/* Enters the object at <s> and returns 1. Any other value is consumed and
 * 0 returned with <*reason> set to <why>: the entry it belongs to is not
 * usable. Returns -1 on a syntax error.
 */
int dockerobj_enter(struct jscan *s, const char *why, const char **reason);

/* Reads a string into <a>. A null leaves *<out> NULL without a reason. */
int dockerobj_str(struct jscan *s, struct arena *a, const char **out, const char **reason);

/* Moves to the next member of the object being walked that is named in
 * <names>, skipping the others. The first members of <names> are strings,
 * read with dockerobj_str() into the fields <strs> points to, in the same
 * order (<strs> ends with NULL; it may be NULL). A member after them is
 * left to the caller, with its index in <names> in <*which>: returns 1
 * then, 0 at the end of the object, -1 on a syntax error.
 */
int dockerobj_next(struct jscan *s, struct arena *a, const char *const *names,
		   const char **const *strs, int *which, const char **reason);

/* The same for the string down <path> (member names, NULL-terminated) of
 * the value at <s>; *<out> stays NULL when there is none.
 */
int dockerobj_path_str(struct jscan *s, const char *const *path, struct arena *a,
		       const char **out, const char **reason);

/* Reads a string that must be one of <words> (NULL-terminated) and stores
 * its index in *<out>, or -1 for another string, another type or null.
 */
int dockerobj_enum(struct jscan *s, const char *const *words, int *out);

/* Reads an integer; null leaves *<out> unchanged. */
int dockerobj_int(struct jscan *s, int64_t *out, const char **reason);

/* Reads a {"key": "value"} map (or null: none) into an array in <a>. A
 * label whose value is not a string is left out.
 */
int dockerobj_labels(struct jscan *s, struct arena *a, struct model_label **out, size_t *n,
		     const char **reason);

/* Returns the value of <key> in <labels>, or NULL. */
const char *dockerobj_label(const struct model_label *labels, size_t n, const char *key);

/* Whether one of <labels> starts with "com.docker.lb.": the service is
 * meant for the router (valid or not: the routing table judges).
 */
int dockerobj_routed(const struct model_label *labels, size_t n);

/* Milliseconds since the epoch of an RFC 3339 time as Docker writes it
 * ("2024-05-01T10:00:00.123456789Z", offsets allowed). Returns 0 for
 * Go's zero time and anything before 1970, -1 when malformed.
 */
int64_t dockerobj_time_ms(const char *s);

/* Reads a task's NetworksAttachments ([{"Network": {"ID", "Spec":
 * {"Name"}}, "Addresses": ["10.0.1.5/24", ...]}, ...], or null) into an
 * array in <a>: one entry per address, on the network's name (its ID when
 * it has none). What is not an address is left out, as are addresses past
 * a few dozen.
 */
int dockerobj_attachments(struct jscan *s, struct arena *a, struct model_netattach **out,
			  size_t *n);

/* Reads published ports ([{"TargetPort": 80, "PublishedPort": 8080,
 * "Protocol": "tcp", "PublishMode": "host"}, ...], or null: a service's
 * Endpoint.Ports, a task's Status.PortStatus.Ports) into an array in <a>.
 * Protocol defaults to tcp and mode to ingress, as in Docker; a port with
 * an unknown protocol or mode, or a number out of range, is left out, and
 * a port listed twice is kept once.
 */
int dockerobj_ports(struct jscan *s, struct arena *a, struct model_port **out, size_t *n);

/* Walks a list answer (GET /services, /tasks, /nodes, ...): calls <fn>
 * with <arg> on each element of the array, which it must consume, then
 * checks that nothing follows. Returns 0, or -1 with the reason in <err>:
 * "bad <what> list: ..." when the document is not a JSON array, "out of
 * memory" when <fn> failed without a syntax error.
 */
int dockerobj_list(const char *json, size_t len, const char *what, jscan_fn fn, void *arg,
		   char *err, size_t errlen);

/* Reads one element of an array into the zeroed record <rec>, keeping its
 * strings in <a>. Returns 1 to keep the record, 0 to leave it out, -1 on a
 * syntax error (in a list answer, -1 without one stops the list with "out
 * of memory").
 */
typedef int (*dockerobj_rec_fn)(struct jscan *s, struct arena *a, void *rec, void *arg);

/* Reads the array at <s> (null or another type: none) into records of
 * <size> bytes in <a>, each with <fn> and <arg>. Sets *<out> (NULL when
 * none is kept, or when memory is exhausted) and *<n>.
 */
int dockerobj_array(struct jscan *s, struct arena *a, size_t size, dockerobj_rec_fn fn,
		    void *arg, void **out, size_t *n);

/* Records read from a whole list answer, in an arena of their own. */
struct dockerobj_records {
	struct arena *arena;      /* the records and their strings; the caller frees it */
	void *v;                  /* NULL when none is kept */
	size_t n;
};

/* Reads the list answer <json> into <out> with <fn> and <arg>, as
 * dockerobj_array() does. Returns 0, or -1 as dockerobj_list() (with
 * nothing to free).
 */
int dockerobj_collect(const char *json, size_t len, const char *what, size_t size,
		      dockerobj_rec_fn fn, void *arg, struct dockerobj_records *out,
		      char *err, size_t errlen);

/* Logs (as subsystem <subsys>) and records for "show errors" that an
 * entry of kind <what> with ID <id> (NULL: none) was skipped for <reason>.
 */
void dockerobj_skipped(const char *subsys, const char *what, const char *id, const char *reason);

/* GET /version: copies ApiVersion and MinAPIVersion ("" when absent) into
 * <api> and <min_api> of <size> bytes. Returns 0, or -1 with the reason in
 * <err> when the answer is not a JSON object.
 */
int dockerobj_version(const char *json, size_t len, char *api, char *min_api, size_t size,
		      char *err, size_t errlen);

/* GET /info: what decides the mode of discovery. */
struct dockerobj_info {
	char name[256];           /* the node's host name, "" when absent */
	int swarm_active;         /* Swarm.LocalNodeState is "active" */
	int swarm_manager;        /* Swarm.ControlAvailable */
};

int dockerobj_info(const char *json, size_t len, struct dockerobj_info *out,
		   char *err, size_t errlen);

#endif
