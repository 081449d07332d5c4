/* helpdesk-accounts: the accounts service. */
#include "accounts_service.h"

int main(void) { return hd_service_main(&accounts_service_def); }
