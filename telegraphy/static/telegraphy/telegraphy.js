/* placeholder: the browser client is written in issue 6 */
