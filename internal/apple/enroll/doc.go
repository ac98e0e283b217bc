// Package enroll makes what an Apple device needs to enroll: the deployment's certificate authority
// (device identity certificates, profile signing), the SCEP server that issues a device its identity
// certificate against a one-time challenge, and the signed enrollment profile (.mobileconfig).
package enroll
