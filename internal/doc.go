// Package internal will hold machinery shared by RAFAEL's packages that is
// not part of the API. This file only reserves its place.
package internal
