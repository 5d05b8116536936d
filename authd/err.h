/*
 * err.h: error codes shared by every module.
 *
 * Functions return 0 on success or a negative enum authd_err.  A deny is a
 * verdict, never an error: see verdict.h.  The enum and its strings come
 * from one list so they cannot drift apart.
 */
#ifndef AUTHD_ERR_H
#define AUTHD_ERR_H

#define AUTHD_ERR_LIST(X)                                   \
	X(AUTHD_OK,       0, "success")                     \
	X(AUTHD_ENOMEM,  -1, "out of memory")               \
	X(AUTHD_EINVAL,  -2, "invalid argument")            \
	X(AUTHD_EIO,     -3, "input/output error")          \
	X(AUTHD_ECRYPTO, -4, "cryptographic library error") \
	X(AUTHD_ECONFIG, -5, "configuration error")         \
	X(AUTHD_ERANGE,  -6, "value out of range")          \
	X(AUTHD_ESYS,    -7, "system call failed")

enum authd_err {
#define AUTHD_ERR_ENUM(name, val, str) name = (val),
	AUTHD_ERR_LIST(AUTHD_ERR_ENUM)
#undef AUTHD_ERR_ENUM
};

/* Static string for an error code; never NULL. */
const char *err_str(int err);

/*
 * Append the OpenSSL error queue of this thread to buf (bounded, "; "
 * separated) and clear the queue.  Returns buf.
 */
char *err_openssl(char *buf, size_t len);

#endif
