/* The ticket service's context (tickets_app.h). */
#include "tickets_app.h"

#include <stdlib.h>

#define TICKETS_ACCOUNTS_PORT 50053 /* the accounts service's default port */

int tickets_app_setup(hd_svc_env *env, hd_err *err) {
  tickets_app *app = calloc(1, sizeof *app);
  if (!app) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  const hd_auth_identity_config ic = {.auth = &env->auth, .service = "tickets"};
  if (tickets_config_load(&app->config, err) || hd_auth_identity_new(&ic, &app->identity, err) ||
      hd_peer_open("accounts", TICKETS_ACCOUNTS_PORT, app->identity, env->clock, env->metrics,
                   &app->accounts, err)) {
    hd_auth_identity_free(app->identity);
    free(app);
    return -1;
  }
  env->app = app;
  return 0;
}

void tickets_app_teardown(hd_svc_env *env) {
  tickets_app *app = env->app;
  if (!app) return;
  hd_peer_free(app->accounts);
  hd_auth_identity_free(app->identity);
  free(app);
  env->app = NULL;
}
