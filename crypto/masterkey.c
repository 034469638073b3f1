/* placeholder: being written */
typedef int ntsd_placeholder_masterkey;
