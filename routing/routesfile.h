/* The static routes file: services, labels and task addresses written by
 * hand (docs/routes-file.md), loaded into a service model whose source is
 * "file". It lets the agent route without Docker, and lets tests describe
 * services exactly.
 */
#ifndef ROUTING_ROUTESFILE_H
#define ROUTING_ROUTESFILE_H

#include <stddef.h>

struct model;

/* Loads the routes file at <path>. Returns a new model owned by the caller
 * (release with model_free()), or NULL with a one-line reason in <err>
 * (<errlen> bytes) when the file cannot be read, is not valid JSON or does
 * not follow the format. Nothing is half-loaded: a file with one error is
 * refused as a whole.
 */
struct model *routesfile_load(const char *path, char *err, size_t errlen);

/* Same as routesfile_load() for the <len> bytes at <text>. */
struct model *routesfile_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
