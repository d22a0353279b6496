package scimserver

// Discovery documents (RFC 7644 §4): what this receiver supports, so a
// client can adapt (Okta and Entra ID read /ServiceProviderConfig).

func serviceProviderConfig(base string) object {
	return object{
		"schemas":          []string{spcSchema},
		"documentationUri": "https://github.com/syncd/syncd/blob/main/docs/scim.md",
		"patch":            object{"supported": true},
		"bulk":             object{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           object{"supported": true, "maxResults": MaxCount},
		"changePassword":   object{"supported": false},
		"sort":             object{"supported": false},
		"etag":             object{"supported": false},
		"authenticationSchemes": []object{{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A static bearer token configured in syncd (scim_receiver.token_file)",
		}},
		"meta": object{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	}
}

func resourceTypes(base string) []object {
	rt := func(id, endpoint, schema string, ext []object) object {
		o := object{
			"schemas": []string{rtSchema}, "id": id, "name": id, "endpoint": "/" + endpoint,
			"description": id, "schema": schema,
			"meta": object{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + id},
		}
		if ext != nil {
			o["schemaExtensions"] = ext
		}
		return o
	}
	return []object{
		rt("User", "Users", userSchema, []object{{"schema": enterpriseSchema, "required": false}}),
		rt("Group", "Groups", groupSchema, nil),
	}
}

// attr describes one attribute in /Schemas.
func attr(name, typ string, multi, required bool, uniqueness string, sub ...object) object {
	a := object{
		"name": name, "type": typ, "multiValued": multi, "required": required,
		"caseExact":  name == "externalId",
		"mutability": "readWrite", "returned": "default", "uniqueness": uniqueness,
	}
	if typ == "complex" {
		a["subAttributes"] = sub
	}
	return a
}

func schemas(base string) []object {
	sch := func(id, name string, attrs []object) object {
		return object{"schemas": []string{schemaSchema}, "id": id, "name": name, "description": name, "attributes": attrs,
			"meta": object{"resourceType": "Schema", "location": base + "/Schemas/" + id}}
	}
	multi := func(name string) object {
		return attr(name, "complex", true, false, "none",
			attr("value", "string", false, false, "none"), attr("display", "string", false, false, "none"),
			attr("type", "string", false, false, "none"), attr("primary", "boolean", false, false, "none"))
	}
	user := []object{
		attr("userName", "string", false, true, "server"),
		attr("externalId", "string", false, false, "none"),
		attr("name", "complex", false, false, "none",
			attr("formatted", "string", false, false, "none"), attr("familyName", "string", false, false, "none"),
			attr("givenName", "string", false, false, "none")),
		attr("displayName", "string", false, false, "none"),
		attr("title", "string", false, false, "none"),
		attr("preferredLanguage", "string", false, false, "none"),
		attr("active", "boolean", false, false, "none"),
		multi("emails"), multi("phoneNumbers"), multi("roles"),
	}
	group := []object{
		attr("displayName", "string", false, true, "server"),
		attr("externalId", "string", false, false, "none"),
		attr("members", "complex", true, false, "none",
			attr("value", "string", false, false, "none"), attr("display", "string", false, false, "none"),
			attr("type", "string", false, false, "none"), attr("$ref", "reference", false, false, "none")),
	}
	enterprise := []object{
		attr("employeeNumber", "string", false, false, "none"),
		attr("department", "string", false, false, "none"),
		attr("manager", "complex", false, false, "none", attr("value", "string", false, false, "none")),
	}
	return []object{
		sch(userSchema, "User", user),
		sch(groupSchema, "Group", group),
		sch(enterpriseSchema, "EnterpriseUser", enterprise),
	}
}
