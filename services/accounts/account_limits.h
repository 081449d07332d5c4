/* Every limit of the accounts service's inputs, in one place; accounts.proto documents the same
 * numbers on its fields. Text limits count characters (UTF-8 code points); the schema's columns
 * are sized for them. */
#ifndef ACCOUNTS_ACCOUNT_LIMITS_H
#define ACCOUNTS_ACCOUNT_LIMITS_H

#define ACCOUNT_UID_MAX             128 /* uid, main_uid, bd_contact (= HD_USER_ID_MAX) */
#define ACCOUNT_IDEMPOTENCY_KEY_MAX 128
#define ACCOUNT_EMAIL_MAX           254
#define ACCOUNT_EMAIL_LOCAL_MAX     64
#define ACCOUNT_PHONE_MAX           16 /* "+" and at most 15 digits (E.164) */
#define ACCOUNT_PARTNER_NAME_MAX    200
#define ACCOUNT_ENTERPRISE_NAME_MAX 200
#define ACCOUNT_PACKAGE_MAX         100
#define ACCOUNT_DOMAIN_MAX          253 /* a domain or hostname */
#define ACCOUNT_RESOURCE_TYPE_MAX   32
#define ACCOUNT_RESOURCE_ID_MAX     128
#define ACCOUNT_BILL_TEXT_MAX       200
#define ACCOUNT_AMOUNT_MAX          1000000000000LL /* minor units of one bill */
#define ACCOUNT_LABEL_MAX           254             /* a payment method's label */
#define ACCOUNT_REASON_MAX          2000 /* a contact change's reason, endorsement, rejection */
#define ACCOUNT_TOKEN_MAX           128  /* an upgrade link's token as given back */
#define ACCOUNT_RISK_CODE_MAX       64
#define ACCOUNT_RISK_MEANING_MAX    2000
#define ACCOUNT_RISK_TEXT_MAX       4000 /* handling procedure, suggested reply */
#define ACCOUNT_ITEMS_MAX                                          \
  500 /* services, resources, bills, payment methods, codes of one \
       * account, each: GetAccount answers them whole */

#endif
